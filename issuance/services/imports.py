"""Bulk enrolment from a CSV file: all-or-nothing by default, idempotent, fast.

The file is decoded and every row validated before anything is written; with errors and without
`skip_invalid`, nothing is written and every bad row is reported with its line number and column.
Rows are matched to existing professionals by RPPS: a new RPPS is created, a changed row updates
the professional, an identical row changes nothing — so importing the same file twice is harmless.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.events import EventType
from audit.services import PendingEvent, audit_record, audit_record_many
from config.bulk import insert_rows
from config.errors import DomainError, FieldError, ValidationFailed
from issuance.identity_locks import identity_edit_refusal, identity_holders
from issuance.models import Organisation, Professional
from issuance.professional_fields import COLUMNS, REQUIRED, clean_professional

# Model fields an import sets, and the CSV column each comes from.
_MODEL_FIELDS = (*(name for name in COLUMNS if name != "organisation_finess"), "organisation_id")
_QUERY_CHUNK = 900  # under SQLite's 999 host-parameter limit of old builds
_PROGRESS_EVERY = 1000


class ImportFileError(DomainError):
    """The file as a whole cannot be read (encoding, header); no row was looked at."""

    code = "invalid_file"


def import_size_error(size: int) -> str | None:
    """Why a file of `size` bytes cannot be imported, or None. Interfaces call this with the
    upload's size before reading it: a file over CARDFORGE_IMPORT_MAX_BYTES is never read."""
    limit = settings.CARDFORGE_IMPORT_MAX_BYTES
    if size > limit:
        return f"the file is {size} bytes; an import takes at most {limit} bytes"
    return None


@dataclass(frozen=True)
class RowError:
    line: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    written: bool = False
    dry_run: bool = False
    file_sha256: str = ""

    @property
    def invalid(self) -> int:
        return len({error.line for error in self.errors})

    def summary(self) -> str:
        verb = "would be" if not self.written else "were"
        return (
            f"{self.rows} rows: {self.created} {verb} created, {self.updated} {verb} updated, "
            f"{self.unchanged} unchanged, {self.invalid} invalid"
        )


@dataclass
class _Row:
    line: int
    values: dict


def _decode(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        msg = f"the file is not UTF-8 text (invalid byte at line {line}); save it as UTF-8"
        raise ImportFileError(msg) from None


def _read_rows(text: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        msg = "the file is empty; it needs a header row"
        raise ImportFileError(msg) from None
    except csv.Error as exc:
        msg = f"line 1: {exc}"
        raise ImportFileError(msg) from None
    header = [name.strip().lower() for name in header]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        msg = (
            f"line 1: the header lacks the required column(s) {', '.join(missing)} "
            f"(required: {', '.join(REQUIRED)})"
        )
        raise ImportFileError(msg)
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        msg = (
            f"line 1: unknown column(s) {', '.join(repr(n) for n in unknown)} "
            f"(allowed: {', '.join(COLUMNS)})"
        )
        raise ImportFileError(msg)
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        msg = f"line 1: column(s) {', '.join(duplicated)} appear more than once"
        raise ImportFileError(msg)

    def rows() -> Iterator[tuple[int, list[str]]]:
        line = reader.line_num + 1
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield line, [f"\0{exc}"]
                line = reader.line_num + 1
                continue
            yield line, values
            line = reader.line_num + 1

    return header, rows()


def _validate(
    header: list[str],
    rows: Iterator[tuple[int, list[str]]],
    report: ImportReport,
    progress: Callable[[int], None] | None,
) -> list[_Row]:
    valid: list[_Row] = []
    seen: dict[str, int] = {}
    width = len(header)
    for line, values in rows:
        if not any(value.strip() for value in values):
            continue  # blank lines are not rows
        report.rows += 1
        if progress and report.rows % _PROGRESS_EVERY == 0:
            progress(_PROGRESS_EVERY)
        if len(values) == 1 and values[0].startswith("\0"):
            report.errors.append(RowError(line, None, f"unreadable CSV: {values[0][1:]}"))
            continue
        if len(values) != width:
            report.errors.append(
                RowError(line, None, f"has {len(values)} fields; the header has {width}")
            )
            continue
        cleaned, problems = clean_professional(dict(zip(header, values, strict=True)))
        for problem in problems:
            report.errors.append(RowError(line, problem.field, problem.message))
        if problems:
            continue
        rpps = cleaned["rpps"]
        if rpps in seen:
            report.errors.append(
                RowError(line, "rpps", f"RPPS {rpps} is also on line {seen[rpps]}")
            )
            continue
        seen[rpps] = line
        valid.append(_Row(line, cleaned))
    if progress:
        progress(report.rows % _PROGRESS_EVERY)
    return valid


def _resolve_organisations(rows: list[_Row], report: ImportReport) -> list[_Row]:
    wanted = {row.values.get("organisation_finess") for row in rows} - {None, ""}
    known = dict(Organisation.objects.filter(finess__in=wanted).values_list("finess", "pk"))
    resolved = []
    for row in rows:
        finess = row.values.pop("organisation_finess", "")
        if finess and finess not in known:
            report.errors.append(
                RowError(row.line, "organisation_finess", f"no organisation has FINESS {finess}")
            )
            continue
        row.values["organisation_id"] = known.get(finess) if finess else None
        resolved.append(row)
    return resolved


def _existing(rpps_numbers: list[str]) -> dict[str, Professional]:
    found: dict[str, Professional] = {}
    for start in range(0, len(rpps_numbers), _QUERY_CHUNK):
        chunk = rpps_numbers[start : start + _QUERY_CHUNK]
        # Locked: a card request submitted meanwhile snapshots them before or after the import.
        rows = Professional.objects.select_for_update(no_key=True).filter(rpps__in=chunk)
        for professional in rows.only("pk", *_MODEL_FIELDS):
            found[professional.rpps] = professional
    return found


def _plan(rows: list[_Row], header: list[str], report: ImportReport):
    """Split rows into values to create and (professional, changed fields) to update. A row
    that would change the identity an open card request was submitted for is an error."""
    existing = _existing([row.values["rpps"] for row in rows])
    # Asked once for every row: what holds each existing professional's identity.
    holders = identity_holders([professional.pk for professional in existing.values()])
    now = timezone.now()
    to_create: list[dict] = []
    to_update: list[tuple[Professional, list[str]]] = []
    unchanged = 0
    for row in rows:
        values = row.values
        current = existing.get(values["rpps"])
        if current is None:
            to_create.append(values)
            continue
        # Only columns present in the file are compared: an absent column changes nothing.
        changed = [
            name
            for name, value in values.items()
            if (name in header or (name == "organisation_id" and "organisation_finess" in header))
            and getattr(current, name) != value
        ]
        if not changed:
            unchanged += 1
            continue
        if refusal := identity_edit_refusal(current.pk, changed, holders):
            report.errors.append(RowError(row.line, None, refusal))
            continue
        for name in changed:
            setattr(current, name, values[name])
        current.updated_at = now  # bulk_update does not apply auto_now
        to_update.append((current, changed))
    return to_create, to_update, unchanged


def professionals_import(
    *,
    content: bytes,
    by,
    file_name: str = "",
    dry_run: bool = False,
    skip_invalid: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import professionals from CSV bytes; see the module docstring for the rules."""
    if too_large := import_size_error(len(content)):
        raise ValidationFailed([FieldError("file", too_large)])
    report = ImportReport(dry_run=dry_run, file_sha256=hashlib.sha256(content).hexdigest())
    header, rows = _read_rows(_decode(content))
    valid = _validate(header, rows, report, progress)
    valid = _resolve_organisations(valid, report)
    with transaction.atomic():
        to_create, to_update, report.unchanged = _plan(valid, header, report)
        report.created, report.updated = len(to_create), len(to_update)
        report.errors.sort(key=lambda error: error.line)
        if dry_run or (report.errors and not skip_invalid):
            return report
        _write(to_create, to_update, report, by=by, file_name=file_name)
    return report


def _create(to_create: list[dict]) -> dict[str, int]:
    """Insert new professionals in one pass; returns their ids by RPPS."""
    now = timezone.now()
    defaults = dict.fromkeys(_MODEL_FIELDS, "") | {"country": "FR", "organisation_id": None}
    columns = (*_MODEL_FIELDS, "photo", "created_at", "updated_at")
    insert_rows(
        Professional,
        columns,
        (
            (*(values.get(name, defaults[name]) for name in _MODEL_FIELDS), "", now, now)
            for values in to_create
        ),
    )
    created = [values["rpps"] for values in to_create]
    ids: dict[str, int] = {}
    for start in range(0, len(created), _QUERY_CHUNK):
        chunk = created[start : start + _QUERY_CHUNK]
        ids.update(Professional.objects.filter(rpps__in=chunk).values_list("rpps", "pk"))
    return ids


def _write(to_create, to_update, report: ImportReport, *, by, file_name: str) -> None:
    ids = _create(to_create)
    fields = sorted({name for _, changed in to_update for name in changed} | {"updated_at"})
    Professional.objects.bulk_update([p for p, _ in to_update], fields, batch_size=500)
    source = {"source": "import", "file_sha256": report.file_sha256}
    events = [
        PendingEvent(
            EventType.PROFESSIONAL_CREATED,
            actor=by,
            object_type="issuance.professional",
            object_id=str(ids[values["rpps"]]),
            payload={"rpps": values["rpps"], "profession": values["profession"], **source},
        )
        for values in to_create
    ]
    events += [
        PendingEvent(
            EventType.PROFESSIONAL_UPDATED,
            actor=by,
            obj=professional,
            payload={"rpps": professional.rpps, "changed": sorted(changed), **source},
        )
        for professional, changed in to_update
    ]
    audit_record_many(events)
    report.written = True
    audit_record(
        event=EventType.PROFESSIONALS_IMPORTED,
        actor=by,
        object_type="issuance.professional",
        payload={
            "file_name": file_name[:200],
            "file_sha256": report.file_sha256,
            "rows": report.rows,
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "invalid": report.invalid,
        },
    )
