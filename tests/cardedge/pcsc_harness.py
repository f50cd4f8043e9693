"""A private pcscd with the vpcd virtual reader, and an emulated card in it, for tests and
benchmarks. Plain Python (no pytest) so that benchmarks can use it too.

Isolation. pcscd 1.9.9 ignores PCSCLITE_CSOCK_NAME (only the client library, libpcsclite, reads
it) and always uses /run/pcscd/pcscd.comm and /run/pcscd/pcscd.pid; it refuses to start when
another pcscd owns them, and deletes both when it exits. So each PrivatePcscd runs pcscd in its
own mount namespace (`unshare --mount --propagation private`; as non-root, also `--user
--map-root-user`) where a private directory is bind-mounted over /run/pcscd: socket and pid file
land in that directory, invisible to any other pcscd. Clients find it through
PCSCLITE_CSOCK_NAME=<dir>/pcscd.comm (`env()`); libpcsclite reads that variable once per
process. The reader configuration is a temporary reader.conf (`pcscd --config`) with the vpcd
driver on a free pair of TCP ports (vpcd listens on CHANNELID and CHANNELID+1) and a reader name
unique to the run. Processes are stopped by their own PID, never by name. If mount namespaces
are unavailable the harness raises HarnessError rather than share /run/pcscd with another run.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
NAMESPACE_PREFIXES = (
    ["unshare", "--mount", "--propagation", "private"],
    ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private"],
)
# Inside the namespace: give pcscd a private /run/pcscd, then become pcscd (same PID).
_PCSCD_IN_NAMESPACE = (
    'mkdir -p /run/pcscd && mount --bind "$0" /run/pcscd && exec pcscd --foreground --config "$1"'
)


class HarnessError(RuntimeError):
    """The private PC/SC set-up could not be made; the message says why and what to do."""


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _namespace_prefix() -> list[str]:
    if shutil.which("unshare") is None:
        msg = "cannot isolate pcscd: `unshare` (util-linux) is not installed"
        raise HarnessError(msg)
    problems = []
    for prefix in NAMESPACE_PREFIXES:
        probe = subprocess.run([*prefix, "true"], capture_output=True, text=True, check=False)
        if probe.returncode == 0:
            return prefix
        problems.append(f"{' '.join(prefix)}: {probe.stderr.strip() or probe.returncode}")
    msg = (
        "cannot isolate pcscd: it always uses /run/pcscd, so a private instance needs a mount "
        "namespace, and none could be made (" + "; ".join(problems) + "). Refusing to start a "
        "pcscd that could collide with another run's."
    )
    raise HarnessError(msg)


def _port_pair_is_free(port: int) -> bool:
    sockets = []
    try:
        for candidate in (port, port + 1):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.bind(("0.0.0.0", candidate))  # vpcd binds INADDR_ANY too
    except OSError:
        return False
    finally:
        for sock in sockets:
            sock.close()
    return True


def free_port_pair() -> int:
    """A port P with P and P+1 free (vpcd listens on both); CHANNELID is P."""
    for _ in range(200):
        port = 20000 + secrets.randbelow(40000)
        if _port_pair_is_free(port):
            return port
    msg = "no free pair of TCP ports for vpcd"
    raise HarnessError(msg)


def _listener_pids(port: int) -> set[int]:
    """PIDs listening on a TCP port, from `ss` (empty if ss is missing)."""
    if shutil.which("ss") is None:
        return set()
    out = subprocess.run(
        ["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True, check=False
    ).stdout
    return {int(pid) for pid in re.findall(r"pid=(\d+)", out)}


def _stop_process(process: subprocess.Popen[bytes], timeout: float = 5.0) -> int | None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
    return process.returncode


@dataclass
class PrivatePcscd:
    """pcscd in a private mount namespace with a vpcd reader pair of its own."""

    workdir: Path
    port: int
    friendly_name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @classmethod
    def start(cls, workdir: Path, *, attempts: int = 3, timeout: float = 10.0) -> PrivatePcscd:
        missing = [name for name in ("pcscd", "unshare") if shutil.which(name) is None]
        if missing or not VPCD_DRIVER.exists():
            msg = f"missing for the PC/SC harness: {', '.join(missing) or VPCD_DRIVER}"
            raise HarnessError(msg)
        prefix = _namespace_prefix()
        last_error = ""
        for attempt in range(attempts):
            port = free_port_pair()
            friendly_name = f"Virtual PCD cf{secrets.token_hex(3)}"
            instance_dir = workdir / f"pcscd-{attempt}"
            (instance_dir / "run").mkdir(parents=True)
            config = instance_dir / "reader.conf"
            config.write_text(
                f'FRIENDLYNAME "{friendly_name}"\n'
                f"DEVICENAME   /dev/null:{port:#06x}\n"
                f"LIBPATH      {VPCD_DRIVER}\n"
                f"CHANNELID    {port:#06x}\n"
            )
            log_path = instance_dir / "pcscd.log"
            with log_path.open("wb") as log:
                process = subprocess.Popen(
                    [
                        *prefix,
                        "sh",
                        "-c",
                        _PCSCD_IN_NAMESPACE,
                        str(instance_dir / "run"),
                        str(config),
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
            pcscd = cls(instance_dir, port, friendly_name, process, log_path)
            problem = pcscd._wait_ready(timeout)
            if problem is None:
                return pcscd
            pcscd.stop()
            last_error = problem
        msg = f"private pcscd did not start: {last_error}"
        raise HarnessError(msg)

    def _wait_ready(self, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return f"pcscd exited with {self.process.returncode}:\n{_tail(self.log_path)}"
            if self.socket_path.exists():
                listeners = _listener_pids(self.port)
                if not listeners or listeners == {self.process.pid}:
                    return None
                return f"port {self.port} is held by PIDs {sorted(listeners)}, not our pcscd"
            time.sleep(0.05)
        return f"no socket at {self.socket_path} after {timeout:.0f} s:\n{_tail(self.log_path)}"

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def socket_path(self) -> Path:
        return self.workdir / "run" / "pcscd.comm"

    def env(self) -> dict[str, str]:
        """Environment for any PC/SC client (pyscard, OpenSC, yubico-piv-tool) of this pcscd."""
        return {**os.environ, "PCSCLITE_CSOCK_NAME": str(self.socket_path)}

    def reader_name(self, index: int = 0) -> str:
        return f"{self.friendly_name} 00 {index:02d}"

    def vpcd_address(self, index: int = 0) -> str:
        return f"127.0.0.1:{self.port + index}"

    def readers(self) -> dict[str, bool]:
        """Reader name → card present, as `opensc-tool --list-readers` sees it."""
        out = subprocess.run(
            ["opensc-tool", "--list-readers"],
            capture_output=True,
            text=True,
            env=self.env(),
            check=False,
            timeout=10,
        ).stdout
        readers = {}
        for line in out.splitlines():
            match = re.match(r"\s*\d+\s+(Yes|No)\s+(.*?)\s*$", line)
            if match:
                readers[match.group(2).strip()] = match.group(1) == "Yes"
        return readers

    def wait_for_card(self, index: int = 0, *, present: bool = True, timeout: float = 15.0) -> None:
        name = self.reader_name(index)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                msg = f"pcscd exited with {self.process.returncode}:\n{_tail(self.log_path)}"
                raise HarnessError(msg)
            if self.readers().get(name) == present:
                return
            time.sleep(0.1)
        state = "show a card" if present else "lose its card"
        msg = f"reader {name!r} did not {state} within {timeout:.0f} s; readers: {self.readers()}"
        raise HarnessError(msg)

    def stop(self) -> int | None:
        return _stop_process(self.process)

    def restart(self, timeout: float = 10.0) -> None:
        """Stop pcscd and start it again on the same reader.conf, ports and socket directory."""
        self.stop()
        prefix = _namespace_prefix()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    *prefix,
                    "sh",
                    "-c",
                    _PCSCD_IN_NAMESPACE,
                    str(self.workdir / "run"),
                    str(self.workdir / "reader.conf"),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        problem = self._wait_ready(timeout)
        if problem is not None:
            msg = f"pcscd did not restart: {problem}"
            raise HarnessError(msg)


@dataclass
class EmulatorProcess:
    """`manage.py emulate_card` serving one card into a vpcd reader; `env` is the card process's
    environment (default: this one's), e.g. with the test database's DATABASE_URL for `--card`."""

    process: subprocess.Popen[bytes]
    log_path: Path
    state_path: Path | None
    extra_args: list[str] = field(default_factory=list)

    @classmethod
    def start(
        cls,
        vpcd_address: str,
        *,
        state_path: Path | None,
        log_path: Path,
        extra_args: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> EmulatorProcess:
        args = [
            sys.executable,
            str(REPO_ROOT / "manage.py"),
            "emulate_card",
            "--vpcd",
            vpcd_address,
        ]
        if state_path is not None:
            args += ["--state", str(state_path)]
        args += extra_args or []
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                args,
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        return cls(process, log_path, state_path, list(extra_args or []))

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return _tail(self.log_path, 40)

    def stop(self) -> int | None:
        """SIGTERM and wait; the return code (0 for a clean stop)."""
        return _stop_process(self.process, timeout=10.0)


@dataclass
class PcscCardHarness:
    """A private pcscd with one emulated card process in reader 0."""

    pcscd: PrivatePcscd
    emulator: EmulatorProcess

    @classmethod
    def start(cls, workdir: Path, *, serial: int | None = None) -> PcscCardHarness:
        pcscd = PrivatePcscd.start(workdir)
        try:
            extra = ["--serial", str(serial)] if serial is not None else []
            emulator = EmulatorProcess.start(
                pcscd.vpcd_address(0),
                state_path=workdir / "card.json",
                log_path=workdir / "emulator.log",
                extra_args=extra,
            )
            try:
                pcscd.wait_for_card(0)
            except HarnessError as exc:
                emulator.stop()
                msg = f"{exc}\nemulator log:\n{emulator.log()}"
                raise HarnessError(msg) from None
        except BaseException:
            pcscd.stop()
            raise
        return cls(pcscd, emulator)

    @property
    def reader_name(self) -> str:
        return self.pcscd.reader_name(0)

    def bind_this_process(self) -> None:
        """Point this process's libpcsclite at our pcscd and check that it really does.

        libpcsclite reads PCSCLITE_CSOCK_NAME once, at its first use in the process.
        """
        os.environ["PCSCLITE_CSOCK_NAME"] = str(self.pcscd.socket_path)
        from cardedge.transports.pcsc import list_readers

        readers = list_readers()
        if self.reader_name not in readers:
            msg = (
                "this process's PC/SC library talks to another pcscd (it was used before the "
                f"harness set PCSCLITE_CSOCK_NAME); it sees {readers}, not {self.reader_name!r}"
            )
            raise HarnessError(msg)

    def stop(self) -> tuple[int | None, int | None]:
        """Stop the card, then pcscd; their return codes."""
        card = self.emulator.stop()
        return card, self.pcscd.stop()
