"""Test-only transports and key backend that act on cue in the middle of a personalization step.

A cue names a step of the runner and an action; the action runs once per process:

* in a card step, when the card gets the step's telltale command (`APDU_CUES`): after the card
  processed it by default (the card did the work, the worker never heard back: the worst moment
  to die), or before (`before=True`: the card is pulled out before it answers);
* in `issue_certificates`, when the CA has signed the second certificate, inside the step's
  transaction;
* in `finish`, when the card row is updated to personalized, inside the finishing transaction.

Actions: `"sigkill"` kills the whole Celery worker (its main process, named by the pid file in
CARDFORGE_TEST_WORKER_PIDFILE, then this pool process); `"sigkill-pool"` kills only this pool
process (the worker's main process sees it die); `"sleep:S"` pauses S seconds (something else
can happen meanwhile, e.g. the broker restart); `"raise"` raises `SimulatedCrash`, a
BaseException the runner does not catch, so the job is left as a killed worker leaves it; or
any callable.

A card cue may instead name the command itself (`matches`) and raise a given exception or flip
a bit of the answer: tests/personalization/jobs/faults.py arms such cues for in-process failure
tests, so in-process and worker-process tests inject faults one way, through this module.

They are plugged in by settings, not by branches in the product: in-process tests override
CARDFORGE_STATION_TRANSPORTS (fixture `cue` in conftest.py); worker processes run with
DJANGO_SETTINGS_MODULE=tests.personalization.jobs.worker_settings and read their cue from
CARDFORGE_TEST_CUE (a step name) and CARDFORGE_TEST_CUE_ACTION (default "sigkill"). A worker's
cue acts once across all its pool processes: CARDFORGE_TEST_CUE_ONCE names a file that the
first to act creates.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.db import connections
from django.db.backends.signals import connection_created

from cardedge.transports.emulated import EmulatedTransport
from cardedge.transports.pcsc import PcscTransport
from cards.models import Card
from pki.key_backends.software import SoftwareKeyBackend

CUE_ENVIRONMENT = "CARDFORGE_TEST_CUE"
PIDFILE_ENVIRONMENT = "CARDFORGE_TEST_WORKER_PIDFILE"
ACTION_ENVIRONMENT = "CARDFORGE_TEST_CUE_ACTION"
ONCE_ENVIRONMENT = "CARDFORGE_TEST_CUE_ONCE"


class SimulatedCrash(BaseException):
    """The worker "died" here: nothing in the runner handles it."""


def _command(ins: int, p2: int | None = None) -> Callable[[bytes], bool]:
    # ISO 7816-4 command header: CLA INS P1 P2 (CLA 10 on all but the last part of a chain).
    return lambda apdu: len(apdu) >= 4 and apdu[1] == ins and (p2 is None or apdu[3] == p2)


# The first command of its kind in a job is sent by this step (shared/piv-brief.md).
APDU_CUES: dict[str, Callable[[bytes], bool]] = {
    "identify_card": _command(0xF8),  # Yubico GET SERIAL
    "authenticate": _command(0x87, 0x9B),  # GENERAL AUTHENTICATE with the management key
    "set_pin_puk": _command(0x24, 0x80),  # CHANGE REFERENCE DATA of the PIN
    "generate_9a": _command(0x47, 0x9A),  # GENERATE ASYMMETRIC KEY PAIR
    "generate_9c": _command(0x47, 0x9C),
    "generate_9d": _command(0x47, 0x9D),
    "generate_9e": _command(0x47, 0x9E),
    "write_objects": _command(0xDB),  # PUT DATA (the first certificate)
    "rotate_management_key": _command(0xFF),  # Yubico SET MANAGEMENT KEY
    "quality_check": _command(0x87, 0x9A),  # a signature with the 9A key
}


def nth_command(
    ins: int, occurrence: int = 1, data_contains: bytes = b""
) -> Callable[[bytes], bool]:
    """A matcher for the `occurrence`th command with this INS whose data holds `data_contains`
    (the parts of a chain count once, at its last). In a worker: CARDFORGE_TEST_CUE=INS:47:2."""
    seen = 0

    def matches(apdu: bytes) -> bool:
        nonlocal seen
        if apdu[0] & 0x10 or apdu[1] != ins or data_contains not in apdu[5:]:
            return False
        seen += 1
        return seen == occurrence

    return matches


SIGNATURE_CUE = "issue_certificates"
CARD_SAVED_CUE = "finish"
CUED_STEPS = (*APDU_CUES, SIGNATURE_CUE, CARD_SAVED_CUE)


@dataclass
class Cue:
    step: str
    action: str | Callable[[], None] = "raise"
    before: bool = False
    fired: bool = False
    signatures: int = 0
    once: Path | None = None
    # Card cues only: the command to act on, instead of the step's telltale (faults.py), what
    # "raise" raises, and, instead of an action, one bit of the answer flipped at this offset.
    matches: Callable[[bytes], bool] | None = None
    exception: BaseException | type[BaseException] | None = None
    corrupt_at: int | None = None

    def __post_init__(self) -> None:
        if self.matches is None and self.step not in CUED_STEPS:
            msg = f"no cue for step {self.step!r} (known: {', '.join(CUED_STEPS)})"
            raise ValueError(msg)

    def hits(self, apdu: bytes) -> bool:
        if self.fired:
            return False
        if self.matches is not None:
            return self.matches(apdu)
        return self.step in APDU_CUES and APDU_CUES[self.step](apdu)

    def fire(self, response: bytes = b"") -> bytes:
        """Act; a card cue's answer is `response`, or it with one bit flipped."""
        self.fired = True
        if self.once is not None:
            try:
                self.once.touch(exist_ok=False)
            except FileExistsError:
                return response  # another process of this worker acted already
        if self.corrupt_at is not None:
            at = self.corrupt_at
            return response[:at] + bytes([response[at] ^ 0x01]) + response[at + 1 :]
        if callable(self.action):
            self.action()
        elif self.action == "raise":
            raise self.exception or SimulatedCrash(self.step)
        elif self.action == "sigkill":
            sigkill_worker()
        elif self.action == "sigkill-pool":
            os.kill(os.getpid(), signal.SIGKILL)
        elif isinstance(self.action, str) and self.action.startswith("sleep:"):
            time.sleep(float(self.action.removeprefix("sleep:")))
        else:
            msg = f"unknown cue action {self.action!r}"
            raise ValueError(msg)
        return response


_cue: Cue | None = None


def set_cue(cue: Cue | None) -> None:
    global _cue  # noqa: PLW0603 - one cue per process, like the crash it stands for
    _cue = cue


def current_cue() -> Cue | None:
    return _cue


def _armed(step: str) -> Cue | None:
    return _cue if _cue is not None and not _cue.fired and _cue.step == step else None


def sigkill_worker() -> None:
    """SIGKILL the Celery worker this runs in: its main process, then this pool process."""
    main = int(Path(os.environ[PIDFILE_ENVIRONMENT]).read_text().strip())
    if main not in (os.getpid(), os.getppid()):
        msg = f"pid file names process {main}, which is neither this process nor its parent"
        raise RuntimeError(msg)
    if main != os.getpid():
        os.kill(main, signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


class _CuedTransmit:
    def transmit(self, apdu: bytes) -> bytes:
        cue = _cue
        hit = cue is not None and cue.hits(apdu)
        if hit and cue.before:
            cue.fire()
        response = super().transmit(apdu)
        if hit and not cue.before:
            response = cue.fire(response)
        return response


class CuedEmulatedTransport(_CuedTransmit, EmulatedTransport):
    pass


class CuedPcscTransport(_CuedTransmit, PcscTransport):
    pass


class CuedSoftwareKeyBackend(SoftwareKeyBackend):
    """The software backend, with the `issue_certificates` cue on its second signature."""

    def private_key(self, handle: str):
        key = super().private_key(handle)
        sign = key._signer

        def signer(*args, **kwargs):
            signature = sign(*args, **kwargs)
            cue = _armed(SIGNATURE_CUE)
            if cue is not None:
                cue.signatures += 1
                if cue.signatures == 2:
                    cue.fire()
            return signature

        key._signer = signer
        return key


def _card_saved(execute, sql, params, many, context):
    """After the statement that marks a card personalized (the runner writes it in SQL, so no
    model signal): the `finish` cue."""
    result = execute(sql, params, many, context)
    cue = _armed(CARD_SAVED_CUE)
    if (
        cue is not None
        and sql.startswith(f"UPDATE {context['connection'].ops.quote_name(Card._meta.db_table)}")
        and Card.Status.PERSONALIZED in (params or ())
    ):
        cue.fire()
    return result


def _watch_card_saves(sender, connection, **kwargs) -> None:
    if _card_saved not in connection.execute_wrappers:
        connection.execute_wrappers.append(_card_saved)


connection_created.connect(_watch_card_saves, dispatch_uid="tests.personalization.jobs.cues")
for _connection in connections.all(initialized_only=True):
    _watch_card_saves(None, _connection)


def _cue_from_environment(step: str) -> Cue:
    matches = None
    if step.startswith("INS:"):  # INS:<hex>[:<occurrence>], what a Fault names in-process
        _, ins, *occurrence = step.split(":")
        matches = nth_command(int(ins, 16), int(occurrence[0]) if occurrence else 1)
    return Cue(
        step,
        action=os.environ.get(ACTION_ENVIRONMENT, "sigkill"),
        once=Path(os.environ[ONCE_ENVIRONMENT]) if os.environ.get(ONCE_ENVIRONMENT) else None,
        matches=matches,
    )


if os.environ.get(CUE_ENVIRONMENT):
    set_cue(_cue_from_environment(os.environ[CUE_ENVIRONMENT]))
