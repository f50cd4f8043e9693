"""A virtual card printer for tests: CUPS's reference IPP printer, `ippeveprinter`, on
localhost and a spare port, keeping every document it receives, stopped by its PID.

ippeveprinter will not start without a reachable D-Bus system bus (its DNS-SD client, Avahi,
connects to it first, even with advertising off): the harness starts a private `dbus-daemon`
for it and points DBUS_SYSTEM_BUS_ADDRESS there; no Avahi daemon is needed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

READY_SECONDS = 15.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@dataclass
class VirtualPrinter:
    directory: Path
    port: int
    printer: subprocess.Popen
    bus: subprocess.Popen
    received_before: set[str] = field(default_factory=set)

    @property
    def uri(self) -> str:
        return f"ipp://localhost:{self.port}/ipp/print"

    @classmethod
    def start(
        cls,
        directory: Path,
        *,
        formats: str = "application/pdf",
        command: str | None = "/bin/true",
        name: str = "Evolis Primacy (virtual)",
    ) -> VirtualPrinter:
        directory.mkdir(parents=True, exist_ok=True)
        bus_path = directory / "system_bus_socket"
        bus = subprocess.Popen(
            [
                "dbus-daemon",
                "--session",
                "--nofork",
                f"--address=unix:path={bus_path}",
            ],
            stdout=(directory / "dbus.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + READY_SECONDS
        while not bus_path.exists():
            if time.monotonic() > deadline or bus.poll() is not None:
                _stop(bus)
                msg = f"dbus-daemon did not start: {(directory / 'dbus.log').read_text()}"
                raise RuntimeError(msg)
            time.sleep(0.05)
        port = _free_port()
        args = ["ippeveprinter", "-r", "off", "-n", "localhost", "-p", str(port)]
        args += ["-d", str(directory), "-k", "-f", formats, "-s", "600,600"]
        args += ["-M", "Evolis", "-m", "Primacy"]
        # Without a command ippeveprinter "prints" by sleeping 5 to 15 s at random; `true` ends
        # each job at once (completed), `false` aborts it. The document is kept either way (-k).
        if command:
            args += ["-c", command]
        printer = subprocess.Popen(
            [*args, name],
            env={**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={bus_path}"},
            stdout=(directory / "ippeveprinter.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        started = cls(directory, port, printer, bus)
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return started
            except OSError:
                if time.monotonic() > deadline or printer.poll() is not None:
                    started.stop()
                    msg = f"ippeveprinter did not start: {started.log()}"
                    raise RuntimeError(msg) from None
                time.sleep(0.05)

    def log(self) -> str:
        path = self.directory / "ippeveprinter.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def received(self) -> list[Path]:
        """The documents it kept, oldest first (`<job id>-<job name>.pdf`)."""
        return sorted(
            self.directory.glob("*.pdf"), key=lambda path: int(path.name.split("-", 1)[0])
        )

    def stop(self) -> None:
        _stop(self.printer)
        _stop(self.bus)
