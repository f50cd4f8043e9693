"""`manage.py emulate_card`: arguments, clean stop on SIGTERM/SIGINT, surviving a pcscd restart."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from cardedge.emulator import DEFAULT_ATR
from tests.cardedge.pcsc_harness import EmulatorProcess, PrivatePcscd
from tests.cardedge.vpcd.fake_vpcd import FakeVpcd


def test_a_bad_vpcd_address_is_refused() -> None:
    with pytest.raises(CommandError, match="--vpcd: expected HOST:PORT"):
        call_command("emulate_card", "--vpcd", "35963")


def test_a_corrupt_state_file_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "card.json"
    state.write_text('{"format": "something else"}')
    with pytest.raises(CommandError, match="not an emulated card state"):
        call_command("emulate_card", "--vpcd", "127.0.0.1:35963", "--state", str(state))


def test_in_process_plain_piv_card_with_serial_stops_on_sigterm() -> None:
    """The command in this process against a vpcd stand-in: options reach the card, SIGTERM
    stops it, and this process's own signal handlers are back afterwards."""
    vpcd = FakeVpcd()
    answers: dict[str, bytes] = {}

    def drive() -> None:
        vpcd.accept()
        answers["atr"] = vpcd.exchange(b"\x04")
        answers["version"] = vpcd.exchange(bytes.fromhex("00 FD 00 00"))
        answers["select"] = vpcd.exchange(bytes.fromhex("00 A4 04 0C 05 A0 00 00 03 08"))
        os.kill(os.getpid(), signal.SIGTERM)  # only once the card answers: the handler is set

    before = signal.getsignal(signal.SIGTERM)
    driver = threading.Thread(target=drive, daemon=True)
    driver.start()
    out = io.StringIO()
    try:
        call_command(
            "emulate_card",
            "--vpcd",
            f"127.0.0.1:{vpcd.port}",
            "--plain-piv",
            "--serial",
            "1234",
            stdout=out,
        )
    finally:
        driver.join(5)
        vpcd.close()
    assert answers == {"atr": DEFAULT_ATR, "version": b"\x6d\x00", "select": b"\x90\x00"}
    assert "serial 1234" in out.getvalue()
    assert out.getvalue().endswith("Card removed, stopped.\n")
    assert signal.getsignal(signal.SIGTERM) is before


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_stops_cleanly_on_a_signal_while_waiting_for_vpcd(
    tmp_path: Path, signum: signal.Signals
) -> None:
    process = EmulatorProcess.start(
        f"127.0.0.1:{_free_port()}",
        state_path=tmp_path / "card.json",
        log_path=tmp_path / "emulator.log",
        extra_args=["--serial", "24681357"],
    )
    deadline = time.monotonic() + 20
    while "Stop with Ctrl-C" not in process.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    process.process.send_signal(signum)
    assert process.process.wait(5) == 0, process.log()
    assert "Card removed, stopped." in process.log()
    assert json.loads((tmp_path / "card.json").read_text())["serial"] == 24681357


@pytest.mark.pcsc
def test_survives_a_pcscd_restart_and_keeps_its_state(tmp_path: Path) -> None:
    pcscd = PrivatePcscd.start(tmp_path)
    emulator = EmulatorProcess.start(
        pcscd.vpcd_address(0), state_path=tmp_path / "card.json", log_path=tmp_path / "emulator.log"
    )
    try:
        pcscd.wait_for_card(0)
        assert _send(pcscd, "00 20 00 80 08 39 39 39 39 39 39 FF FF") == 0x63C2
        pcscd.restart()
        pcscd.wait_for_card(0)  # the bridge reconnected by itself
        assert _send(pcscd, "00 FD 00 00 00") == 0x9000
        assert _send(pcscd, "00 20 00 80") == 0x63C2  # the same card, the same count
        assert "reconnecting" in emulator.log()
    finally:
        assert emulator.stop() == 0, emulator.log()
        pcscd.stop()


def _send(pcscd: PrivatePcscd, apdu: str) -> int:
    """The status word opensc-tool reports for one APDU."""
    out = subprocess.run(
        ["opensc-tool", "--reader", "0", "--send-apdu", apdu.replace(" ", "")],
        env=pcscd.env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=20,
    ).stdout
    match = re.search(r"Received \(SW1=0x([0-9A-F]{2}), SW2=0x([0-9A-F]{2})\)", out)
    assert match, out
    return int(match.group(1) + match.group(2), 16)
