"""Talking to a station's card printer over IPP (RFC 8011), with pyipp: a maintained, pure
Python IPP client (the one Home Assistant uses), which encodes and decodes the protocol so this
module only says what to ask. A printer is an IPP URI (`ipp://host:631/ipp/print`, `ipps://…`)
or the name of a CUPS queue on this host, which CUPS serves over IPP as
`ipp://localhost:631/printers/NAME` (docs/personalization.md, "Card printers").

Plain Python: the print step (runner/steps/printing.py) calls it and records what it says.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from pyipp import IPP
from pyipp.enums import IppOperation
from pyipp.exceptions import IPPConnectionError, IPPError

# RFC 8011 §5.3.7 job-state, §5.4.11 printer-state.
JOB_STATES = {
    3: "pending",
    4: "pending-held",
    5: "processing",
    6: "processing-stopped",
    7: "canceled",
    8: "aborted",
    9: "completed",
}
FINAL_JOB_STATES = frozenset({"canceled", "aborted", "completed"})
PRINTER_STATES = {3: "idle", 4: "processing", 5: "stopped"}
# RFC 8011 §13.1: the status codes a refusal names most often.
STATUS_NAMES = {
    0x0400: "client-error-bad-request",
    0x0401: "client-error-forbidden",
    0x0402: "client-error-not-authenticated",
    0x0403: "client-error-not-authorized",
    0x0406: "client-error-not-found",
    0x040A: "client-error-document-format-not-supported",
    0x040B: "client-error-attributes-or-values-not-supported",
    0x0500: "server-error-internal-error",
    0x0506: "server-error-not-accepting-jobs",
    0x0507: "server-error-busy",
}
_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,127}$")
USER = "cardforge"
TIMEOUT_SECONDS = 10


class PrinterError(Exception):
    """The printer could not be reached, or refused; the message says which and why."""


class PrinterUnreachable(PrinterError):
    pass


@dataclass(frozen=True)
class PrinterState:
    state: str  # idle, processing, stopped
    reasons: tuple[str, ...]  # printer-state-reasons, e.g. media-empty-error, media-jam-error
    accepting: bool

    @property
    def ready(self) -> bool:
        return self.accepting and self.state != "stopped"

    def describe(self) -> str:
        reasons = ", ".join(reason for reason in self.reasons if reason != "none")
        accepting = "" if self.accepting else ", not accepting jobs"
        return f"{self.state}{accepting}{f' ({reasons})' if reasons else ''}"


@dataclass(frozen=True)
class PrintJob:
    job_id: int
    state: str
    reasons: tuple[str, ...] = ()

    @property
    def final(self) -> bool:
        return self.state in FINAL_JOB_STATES


def printer_uri(setting: str) -> str:
    """The IPP URI of a printer setting: an ipp:// or ipps:// URI as it is, a CUPS queue name
    as the local CUPS serves it. ValueError for anything else."""
    setting = (setting or "").strip()
    if "://" in setting:
        parts = urlsplit(setting)
        if parts.scheme not in ("ipp", "ipps") or not parts.hostname:
            msg = "an IPP printer is ipp://host[:port]/path or ipps://…, or a CUPS queue name"
            raise ValueError(msg)
        return setting
    if not _QUEUE_NAME.match(setting):
        msg = "a CUPS queue name is letters, digits, '.', '_' and '-' (or give an ipp:// URI)"
        raise ValueError(msg)
    return f"ipp://localhost:631/printers/{setting}"


def _client(uri: str) -> IPP:
    parts = urlsplit(uri)
    tls = parts.scheme == "ipps"
    return IPP(
        host=parts.hostname or "localhost",
        port=parts.port or 631,
        base_path=parts.path or "/ipp/print",
        tls=tls,
        verify_ssl=tls,
        request_timeout=TIMEOUT_SECONDS,
        user_agent="CardForge",
    )


def _list(value) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(str(item) for item in (value if isinstance(value, list) else [value]))


def _run(uri: str, operation: IppOperation, message: dict) -> dict:
    async def call() -> dict:
        async with _client(uri) as client:
            return await client.execute(operation, message)

    try:
        return asyncio.run(call())
    except IPPConnectionError:
        msg = f"the printer at {uri} cannot be reached"
        raise PrinterUnreachable(msg) from None
    except IPPError as error:
        details = error.args[1] if len(error.args) > 1 and isinstance(error.args[1], dict) else {}
        code = details.get("status-code")
        name = STATUS_NAMES.get(code, f"status 0x{code:04x}" if isinstance(code, int) else "")
        msg = f"the printer at {uri} refused: {name or error.args[0]}"
        raise PrinterError(msg) from None


def printer_state(uri: str) -> PrinterState:
    answer = _run(
        uri,
        IppOperation.GET_PRINTER_ATTRIBUTES,
        {
            "operation-attributes-tag": {
                "requested-attributes": [
                    "printer-state",
                    "printer-state-reasons",
                    "printer-is-accepting-jobs",
                ]
            }
        },
    )
    (printer,) = answer["printers"] or [{}]
    return PrinterState(
        state=PRINTER_STATES.get(int(printer.get("printer-state", 0)), "unknown"),
        reasons=_list(printer.get("printer-state-reasons")),
        accepting=bool(printer.get("printer-is-accepting-jobs", False)),
    )


def print_job_submit(uri: str, document: bytes, *, job_name: str, color: bool) -> int:
    """Send `document` (a PDF) as one IPP Print-Job named `job_name`; its job id."""
    answer = _run(
        uri,
        IppOperation.PRINT_JOB,
        {
            "operation-attributes-tag": {
                "requesting-user-name": USER,
                "job-name": job_name,
                "document-format": "application/pdf",
            },
            "job-attributes-tag": {
                "print-color-mode": "color" if color else "monochrome",
            },
            "data": document,
        },
    )
    (job,) = answer["jobs"]
    return int(job["job-id"])


def print_job_state(uri: str, job_id: int) -> PrintJob:
    answer = _run(
        uri,
        IppOperation.GET_JOB_ATTRIBUTES,
        {
            "operation-attributes-tag": {
                "job-id": job_id,
                "requested-attributes": ["job-state", "job-state-reasons"],
            }
        },
    )
    (job,) = answer["jobs"]
    return PrintJob(
        job_id,
        JOB_STATES.get(int(job["job-state"]), "unknown"),
        _list(job.get("job-state-reasons")),
    )


def print_job_named(uri: str, job_name: str) -> PrintJob | None:
    """The printer's job called `job_name`, if it has one (a print sent just before a crash,
    whose id was never recorded)."""
    answer = _run(
        uri,
        IppOperation.GET_JOBS,
        {
            "operation-attributes-tag": {
                "which-jobs": "all",
                "requested-attributes": ["job-id", "job-name", "job-state"],
            }
        },
    )
    for job in answer["jobs"]:
        if job.get("job-name") == job_name:
            return PrintJob(int(job["job-id"]), JOB_STATES.get(int(job["job-state"]), "unknown"))
    return None
