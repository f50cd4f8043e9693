"""The auditor report over a large audit trail: N audit events (100,000 by default) written with
`audit_record_many`, then the whole report built a few times, stage by stage, next to baselines
measured in the same run. Not a test: run it and read the ratios.

    CARDFORGE_SIGNER_SECRETS_FILE=var/signer.env \\
      .venv/bin/python -m benchmarks.audit_report [--events 100000] [--rounds 3] [--days 30]
        [--database-url URL] [--profile]
      (--database-url: a PostgreSQL server; the benchmark works in a fresh test database there
       and drops it at the end)

Set-up (not timed): a scratch database, `pki_bootstrap` (software key backend), the built-in
card profiles, three emulated stations, officers, operators, an administrator and an auditor,
organisations and professionals. Then a month of card issuing, as the services would leave it:
card requests and cards (bulk rows, their times spread over the last `--days` days: about
93% personalized, delivered and activated, 5% rejected, 2% still waiting, one card in 500
revoked by an administrator alone) and their audit trail, written with `audit_record_many` in
the groups the services write (submit; approve with the job queued; job start; the card's four
certificates; personalized; PIN mailer; delivered; activated), with the officers' sign-ins and
sign-outs, a few failed sign-ins and role grants, until the trail holds `--events` events. One
transaction per ~1,000 events, a signed checkpoint after each (the platform's default cadence,
CARDFORGE_AUDIT_CHECKPOINT_EVENTS). `audit_record_many` stamps events when they are written, so
the events are all of today; the report covers the last `--days` days, today included.

Each round builds the report as `reports.services.report_build` and the signer do, each stage
timed: `report_figures` (its five sections' queries, then `audit_chain_verify` over the whole
trail and its checkpoints, then the integrity section), the charts (`report_context`), the
HTML (the template), the PDF (WeasyPrint: `report_pdf` is these three), the CSV zip, the PAdES
signature (`pdf_sign` with the reports key). Baselines in the same round: the chain's floor,
`json.dumps` (canonical, as audit/chain.py) and `hashlib.sha256` of the same events' documents
held in memory, compared with their stored hashes; the signature's floor, `openssl dgst -sha256
-sign` of the same PDF with a fresh EC P-256 key. Also, to split the verification: the same
columns read with a raw cursor, `verify_events` over rows already in memory, and SHA-256 alone
over the documents already encoded. Printed: medians of the rounds. Afterwards (not timed): the
trail is intact, the signed PDF validates with pyHanko against the root CA, openssl's signature
verifies, the CSV zip lists every decision. `--profile` prints where one more round's time goes
(cProfile).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import hashlib
import io
import json
import logging
import os
import platform
import pstats
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import namedtuple
from dataclasses import dataclass
from pathlib import Path

REASON = "CardForge audit report, issued by the platform"  # as reports/tasks.py signs
EVENTS_PER_TRANSACTION = 1000
Row = namedtuple(
    "Row", "sequence created_at actor event object_type object_id payload prev_hash hash"
)


def configure(database_url: str | None) -> Path:
    from benchmarks.django_setup import setup

    os.environ["CELERY_BROKER_URL"] = "memory://localhost/"
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
    os.environ["CARDFORGE_PKI_BASE_URL"] = "http://pki.example.org"
    return setup(database_url)


# --- set-up ----------------------------------------------------------------------------------


@dataclass
class World:
    root: object  # the root CA, which the PDF's signature must chain to
    officers: list
    approvers: list
    operators: list
    administrator: object
    stations: list
    cycles: list  # one Cycle per card request, in time order


@dataclass
class Cycle:
    """One card request and what followed it."""

    outcome: str  # personalized, rejected, waiting
    request: object
    card: object = None
    revoked: bool = False


def _user(username: str, role):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    made = get_user_model().objects.create_user(
        username=username, password=secrets.token_urlsafe(16)
    )
    made.groups.add(Group.objects.get(name=role.value))
    return made


def _moment(rng: random.Random, after: dt.datetime, low: float, high: float, now: dt.datetime):
    return min(after + dt.timedelta(seconds=rng.uniform(low, high)), now)


def events_of(index: int, outcome: str, revoked: bool) -> int:
    """How many events `cycle_groups` writes for a request (checked as they are written)."""
    sessions = 3 * (index % 20 == 0) + 2 * (index % 20 == 19)
    others = (index % 50 == 7) + (index % 2000 == 1000) + revoked
    return {"personalized": 12, "rejected": 2, "waiting": 1}[outcome] + sessions + others


def build_world(events: int, days: int) -> World:
    """Users, stations, and as many card requests (with their cards, spread over `days`) as
    a trail of `events` events needs."""
    from django.utils import timezone

    from accounts.roles import Role
    from audit.models import AuditEvent
    from benchmarks.personalization import professional_row
    from cardprofiles.services.versions import card_profile_sync_builtin
    from cards.models import Card, CardRequest
    from issuance.identity import identity_of
    from issuance.models import Organisation, Professional
    from issuance.validators import finess_check_digit, luhn_check_digit
    from personalization.services.stations import station_create
    from pki.services.cas import pki_bootstrap

    rng = random.Random(2026)
    pki = pki_bootstrap(backend="software")
    versions = [
        result.version for result in card_profile_sync_builtin() if result.version is not None
    ]
    # Most cards are the physician's ECC card; some RSA, a few with an escrowed key.
    weights = [{"hpc-physician": 80, "hpc-rsa": 15}.get(v.profile.name, 5) for v in versions]
    stations = [
        station_create(name=f"desk-{n}", transport="emulated", takes_approved_requests=n == 1)
        for n in (1, 2, 3)
    ]
    officers = [_user(f"enrolment-{n}", Role.ENROLMENT_OFFICER) for n in (1, 2, 3)]
    approvers = [_user(f"approver-{n}", Role.APPROVING_OFFICER) for n in (1, 2)]
    operators = [_user(f"operator-{n}", Role.ENCODING_OPERATOR) for n in (1, 2)]
    administrator = _user("administrator", Role.ADMINISTRATOR)
    _user("auditor", Role.AUDITOR)
    organisations = []
    for n in range(5):
        payload = f"9100{n:04d}"
        organisations.append(
            Organisation.objects.create(
                name=f"Centre hospitalier n°{n + 1}", finess=payload + finess_check_digit(payload)
            )
        )
    # The set-up's own events (CAs, profiles, stations) are part of the trail.
    missing, plan = events - AuditEvent.objects.count(), []
    while missing > 0:
        draw, index = rng.random(), len(plan)
        outcome = "rejected" if draw < 0.05 else "waiting" if draw < 0.07 else "personalized"
        revoked = outcome == "personalized" and index % 500 == 250
        plan.append((outcome, revoked))
        missing -= events_of(index, outcome, revoked)
    cycles = len(plan)
    professionals = [
        professional_row(index, organisations[index % len(organisations)])
        for index in range(cycles)
    ]
    Professional.objects.bulk_create(professionals)
    professionals = list(Professional.objects.select_related("organisation").order_by("rpps"))

    now = timezone.now()
    since = dt.datetime.combine(
        timezone.localdate() - dt.timedelta(days=days - 1), dt.time(), tzinfo=now.tzinfo
    )
    span = (now - since).total_seconds() - 3600
    requests = []
    for index, professional in enumerate(professionals):
        outcome = plan[index][0]
        version = rng.choices(versions, weights)[0]
        identity = identity_of(professional, version)
        submitted = since + dt.timedelta(seconds=(index + rng.random()) / cycles * span)
        decided = _moment(rng, submitted, 300, 6 * 3600, now) if outcome != "waiting" else None
        requests.append(
            CardRequest(
                professional=professional,
                card_profile=version.profile,
                profile_version=version,
                status={"personalized": "completed", "rejected": "rejected"}.get(
                    outcome, "submitted"
                ),
                submitted_by=officers[index % len(officers)],
                submitted_at=submitted,
                decided_by=approvers[index % len(approvers)] if decided else None,
                decided_at=decided,
                decision_reason="RPPS number not confirmed" if outcome == "rejected" else "",
                identity=identity.as_json(),
                identity_sha256=identity.sha256,
                approved_identity_sha256=identity.sha256 if outcome == "personalized" else "",
            )
        )
    CardRequest.objects.bulk_create(requests)
    requests = list(
        CardRequest.objects.select_related(
            "professional__organisation",
            "card_profile",
            "profile_version",
            "submitted_by",
            "decided_by",
        )
        .filter(professional__in=professionals)
        .order_by("submitted_at")
    )

    cards, made = [], []
    for index, ((outcome, revoked), request) in enumerate(zip(plan, requests, strict=True)):
        cycle = Cycle(outcome, request, revoked=revoked)
        made.append(cycle)
        if outcome != "personalized":
            continue
        issued = _moment(rng, request.decided_at, 600, 86400, now)
        delivered = _moment(rng, issued, 86400, 4 * 86400, now)
        activated = _moment(rng, delivered, 60, 3600, now)
        serial = f"{now:%y}{index:09d}"
        cycle.card = Card(
            serial=serial + luhn_check_digit(serial),
            professional=request.professional,
            card_request=request,
            card_profile=request.card_profile,
            profile_version=request.profile_version,
            station=stations[index % len(stations)],
            status=Card.Status.REVOKED if cycle.revoked else Card.Status.ACTIVE,
            management_key_algorithm="aes192",
            issued_at=issued,
            expires_at=issued + dt.timedelta(days=3 * 365),
            delivered_at=delivered,
            activated_at=activated,
            revoked_at=now if cycle.revoked else None,
            revocation_reason=Card.RevocationReason.STOLEN if cycle.revoked else "",
        )
        cards.append(cycle.card)
    Card.objects.bulk_create(cards)
    return World(pki.root, officers, approvers, operators, administrator, stations, made)


def _certificate_event(cycle: Cycle, slot: str, profile: str, ca: str):
    from audit.events import EventType
    from audit.services import PendingEvent

    professional = cycle.request.professional
    return PendingEvent(
        event=EventType.CERTIFICATE_ISSUED,
        payload={
            "serial": secrets.token_hex(16),
            "ca": ca,
            "profile": profile,
            "slot": slot,
            "subject": f"C=FR,O={professional.organisation.name},"
            f"CN={professional.first_name} {professional.last_name},"
            f"serialNumber=8{professional.rpps}",
            "professional": professional.rpps,
            "card": str(cycle.card.pk),
            "not_after": cycle.card.expires_at.isoformat(),
            "fingerprint_sha256": secrets.token_hex(32),
        },
    )


CERTIFICATES = (
    ("9A", "hp-authentication", "hpc-auth"),
    ("9C", "hp-qualified-signature", "hpc-qualified"),
    ("9D", "hp-encryption", "hpc-auth"),
    ("9E", "hp-card-authentication", "hpc-auth"),
)


def cycle_groups(world: World, index: int, cycle: Cycle) -> list[list]:
    """The audit events of one card request, grouped as the services write them (one group,
    one transaction of theirs), with the sessions of the officers around them."""
    from audit.events import EventType
    from audit.services import PendingEvent

    request = cycle.request
    officer = request.submitted_by
    operator = world.operators[index % len(world.operators)]
    station = world.stations[index % len(world.stations)]
    client = {"ip": f"10.20.{index % 7}.{10 + index % 3}"}
    common = {
        "professional": request.professional.rpps,
        "profile": request.card_profile.name,
        "profile_version": request.profile_version.number,
        "reason": request.reason,
        "identity_sha256": request.identity_sha256,
    }
    groups = []
    closing = []
    if index % 20 == 19:
        for user in (officer, operator):
            closing.append([PendingEvent(EventType.USER_LOGGED_OUT, user, user, client)])
    if index % 20 == 0:  # a session of each desk every twenty requests
        for user in (officer, request.decided_by or world.approvers[0], operator):
            groups.append([PendingEvent(EventType.USER_LOGGED_IN, user, user, client)])
    if index % 50 == 7:
        payload = {"username": officer.get_username(), "step": "password", **client}
        groups.append(
            [PendingEvent(EventType.USER_LOGIN_FAILED, payload=payload, object_type="auth.user")]
        )
    if index % 2000 == 1000:
        groups.append(
            [
                PendingEvent(
                    EventType.USER_ROLE_GRANTED,
                    world.administrator,
                    operator,
                    {
                        "username": operator.get_username(),
                        "role": "encoding operator",
                        "before": [],
                        "after": ["encoding operator"],
                    },
                )
            ]
        )
    groups.append([PendingEvent(EventType.CARD_REQUEST_SUBMITTED, officer, request, common)])
    decided = {**common, "submitted_by": officer.get_username()}
    if cycle.outcome == "rejected":
        decided["note"] = request.decision_reason
        groups.append(
            [PendingEvent(EventType.CARD_REQUEST_REJECTED, request.decided_by, request, decided)]
        )
    if cycle.outcome != "personalized":
        return groups + closing
    job = {"object_type": "personalization.personalizationjob", "object_id": str(request.pk)}
    card = cycle.card
    groups += [
        [
            PendingEvent(EventType.CARD_REQUEST_APPROVED, request.decided_by, request, decided),
            PendingEvent(
                EventType.PERSONALIZATION_JOB_QUEUED,
                request.decided_by,
                payload={
                    "request": request.pk,
                    "professional": request.professional.rpps,
                    "station": station.name,
                    "batch": None,
                },
                **job,
            ),
        ],
        [
            PendingEvent(
                EventType.PERSONALIZATION_JOB_STARTED,
                payload={
                    "request": request.pk,
                    "station": station.name,
                    "attempt": 1,
                    "steps_done": 0,
                },
                **job,
            )
        ],
        [_certificate_event(cycle, *certificate) for certificate in CERTIFICATES],
        [
            PendingEvent(
                EventType.CARD_PERSONALIZED,
                obj=card,
                payload={
                    "serial": card.serial,
                    "professional": request.professional.rpps,
                    "profile": request.card_profile.name,
                    "profile_version": request.profile_version.number,
                    "station": station.name,
                    "job": request.pk,
                    "certificates": 4,
                },
            )
        ],
        [
            PendingEvent(
                EventType.PIN_MAILER_DOWNLOADED,
                operator,
                card,
                {"serial": card.serial, "professional": request.professional.rpps},
            )
        ],
        [
            PendingEvent(
                EventType.CARD_DELIVERED, officer, card, {"serial": card.serial, "comment": ""}
            )
        ],
        [
            PendingEvent(
                EventType.CARD_ACTIVATED,
                obj=card,
                payload={
                    "serial": card.serial,
                    "challenge": index,
                    "superseded": [],
                    "pin_mailer_destroyed": True,
                },
            )
        ],
    ]
    if cycle.revoked:  # the emergency path: an administrator alone, flagged
        groups.append(
            [
                PendingEvent(
                    EventType.CARD_REVOKED,
                    world.administrator,
                    card,
                    {
                        "serial": card.serial,
                        "reason": "stolen",
                        "certificate_reason": "Key compromise",
                        "revoked": 4,
                        "pin_mailer_destroyed": False,
                        "request": None,
                        "emergency": True,
                        "comment": "reported stolen by the holder",
                    },
                )
            ]
        )
    return groups + closing


def write_trail(world: World, events: int) -> int:
    """Append events until the trail holds `events`; returns the checkpoints written."""
    from django.db import transaction

    from audit.models import AuditEvent
    from audit.services import audit_record_many
    from pki.services.audit_checkpoints import audit_checkpoint_write

    missing = events - AuditEvent.objects.count()  # the set-up's own events count too

    def all_groups():
        for index, cycle in enumerate(world.cycles):
            groups = cycle_groups(world, index, cycle)
            assert sum(map(len, groups)) == events_of(index, cycle.outcome, cycle.revoked)
            yield from groups

    groups = all_groups()
    checkpoints = 0
    while missing > 0:
        with transaction.atomic():
            written = 0
            while written < min(EVENTS_PER_TRANSACTION, missing):
                group = next(groups)[: missing - written]
                written += audit_record_many(group)
        missing -= written
        checkpoints += audit_checkpoint_write(force=True) is not None
    return checkpoints


# --- the report, stage by stage ------------------------------------------------------------------

STAGES = (
    ("queries", "figures: the five sections' queries"),
    ("verify", "figures: audit trail verified, then the integrity section"),
    ("charts", "charts (matplotlib SVG)"),
    ("html", "HTML (Django template)"),
    ("pdf", "PDF (WeasyPrint)"),
    ("csv", "CSV zip"),
    ("sign", "PAdES signature (pyHanko, reports key)"),
)


@dataclass
class Built:
    seconds: dict
    sections: dict  # figure section -> seconds
    figures: object
    pdf: bytes
    signed: bytes
    csv_zip: bytes
    pdf_warnings: int  # records WeasyPrint logged while making the PDF


class Counted(logging.Handler):
    """Counts the records of a logger, which still logs them as configured."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def build_report(params) -> Built:
    from django.template.loader import render_to_string

    from personalization.documents.render import html_to_pdf
    from pki.services.document_signing import pdf_sign
    from reports.documents import report_context
    from reports.figures import report_figures
    from reports.tables import report_csv_files, report_csv_zip

    marks: list[tuple[str, float]] = []
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    figures = report_figures(params, progress=lambda _p, stage: marks.append((stage, _now())))
    done = _now()
    marks.append(("", done))
    sections = {stage: marks[index + 1][1] - at for index, (stage, at) in enumerate(marks[:-1])}
    seconds["verify"] = sections.pop("verifying the audit trail")
    seconds["queries"] = done - started - seconds["verify"]
    # As report_build: the CSV files first (the PDF states their SHA-256), then report_pdf,
    # which is these three: context (with the charts), template, WeasyPrint.
    started = _now()
    files = report_csv_files(figures)
    csv_zip = report_csv_zip(figures, files)
    seconds["csv"] = _now() - started
    started = _now()
    context = report_context(figures, files)
    seconds["charts"] = _now() - started
    started = _now()
    html = render_to_string("reports/report.html", context)
    seconds["html"] = _now() - started
    started = _now()
    warnings = Counted()
    logging.getLogger("weasyprint").addHandler(warnings)
    try:
        pdf = html_to_pdf(html)
    finally:
        logging.getLogger("weasyprint").removeHandler(warnings)
    seconds["pdf"] = _now() - started
    started = _now()
    signed = pdf_sign(pdf, reason=REASON)
    seconds["sign"] = _now() - started
    return Built(seconds, sections, figures, pdf, signed, csv_zip, warnings.count)


def _now() -> float:
    return time.perf_counter()


# --- baselines and the verification's parts ------------------------------------------------------


def read_trail() -> tuple[list[Row], list[tuple[dict, str]]]:
    """The trail read once (untimed): rows as the ORM converts them, and each event's canonical
    document with its stored hash."""
    from audit.chain import canonical_time
    from audit.models import AuditEvent

    rows = [
        Row(*values) for values in AuditEvent.objects.order_by("sequence").values_list(*Row._fields)
    ]
    documents = [
        (
            {
                "sequence": row.sequence,
                "created_at": canonical_time(row.created_at),
                "actor": row.actor,
                "event": row.event,
                "object_type": row.object_type,
                "object_id": row.object_id,
                "payload": row.payload,
                "prev_hash": row.prev_hash,
            },
            row.hash,
        )
        for row in rows
    ]
    return rows, documents


def bare_hashing(documents: list[tuple[dict, str]]) -> float:
    """The chain's floor: each document encoded as audit/chain.py does, hashed, compared."""
    started = _now()
    for document, stored in documents:
        encoded = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        if hashlib.sha256(encoded.encode("utf-8")).hexdigest() != stored:
            raise AssertionError(f"event {document['sequence']}: the floor disagrees")
    return _now() - started


def sha256_only(encoded: list[bytes]) -> float:
    started = _now()
    for data in encoded:
        hashlib.sha256(data).hexdigest()
    return _now() - started


def raw_read() -> float:
    """The same columns in sequence order, with a raw cursor: the database's part."""
    from django.db import connection

    from audit.models import AuditEvent

    quote = connection.ops.quote_name
    columns = ", ".join(quote(AuditEvent._meta.get_field(name).column) for name in Row._fields)
    table = quote(AuditEvent._meta.db_table)
    started = _now()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {table} ORDER BY {quote('sequence')}")
        while cursor.fetchmany(5000):
            pass
    return _now() - started


def walk_in_memory(rows: list[Row]) -> float:
    """audit/chain.verify_events over rows already read: the verification without the database."""
    from audit.chain import verify_events

    started = _now()
    report = verify_events(rows)
    assert report.intact, report.reason
    return _now() - started


def openssl_sign(directory: Path, pdf: bytes) -> float:
    """The signing floor: `openssl dgst -sha256 -sign` of the PDF with an EC P-256 key."""
    document = directory / "report.pdf"
    document.write_bytes(pdf)
    started = _now()
    subprocess.run(
        [
            "openssl",
            "dgst",
            "-sha256",
            "-sign",
            str(directory / "key.pem"),
            "-out",
            str(directory / "report.sig"),
            str(document),
        ],
        check=True,
    )
    return _now() - started


def openssl_key(directory: Path) -> None:
    subprocess.run(
        [
            "openssl",
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            str(directory / "key.pem"),
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            "openssl",
            "pkey",
            "-in",
            str(directory / "key.pem"),
            "-pubout",
            "-out",
            str(directory / "public.pem"),
        ],
        check=True,
    )


# --- checks (not timed) ------------------------------------------------------------------------


def check(world: World, built: Built, directory: Path, decisions: int) -> str:
    """The signed PDF validates against the root CA, openssl's signature verifies, the CSV zip
    lists every decision, the trail is intact. Returns what was checked."""
    from cryptography.hazmat.primitives import serialization
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    from pki.services.signing import ca_certificate

    integrity = built.figures.integrity
    assert integrity.intact, integrity.reason
    root = directory / "root.pem"
    root.write_bytes(ca_certificate(world.root).public_bytes(serialization.Encoding.PEM))
    reader = PdfFileReader(io.BytesIO(built.signed), strict=False)
    (signature,) = reader.embedded_signatures
    context = ValidationContext(
        trust_roots=[load_cert_from_pemder(str(root))], allow_fetching=False
    )
    status = validate_pdf_signature(signature, context)
    assert status.bottom_line, status.pretty_print_details()
    subprocess.run(
        [
            "openssl",
            "dgst",
            "-sha256",
            "-verify",
            str(directory / "public.pem"),
            "-signature",
            str(directory / "report.sig"),
            str(directory / "report.pdf"),
        ],
        check=True,
        capture_output=True,
    )
    with zipfile.ZipFile(io.BytesIO(built.csv_zip)) as archive:
        listed = archive.read("approvals.csv").decode("utf-8-sig").count("\r\n") - 1
    assert listed == decisions, (listed, decisions)
    return (
        f"audit trail of {integrity.checked:,} events intact with {len(integrity.checkpoints)} "
        f"signed checkpoints; the signed PDF ({pdf_pages(built.signed)} pages, "
        f"{len(built.signed):,} bytes) validates with pyHanko against the root CA; openssl's "
        f"signature verifies; approvals.csv lists the {decisions:,} decisions"
    )


def pdf_pages(pdf: bytes) -> int:
    from pyhanko.pdf_utils.reader import PdfFileReader

    return int(PdfFileReader(io.BytesIO(pdf), strict=False).root["/Pages"]["/Count"])


# --- report ----------------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values)


def seconds(value: float) -> str:
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="audit events (100,000)")
    parser.add_argument("--rounds", type=int, default=3, help="reports built (3)")
    parser.add_argument("--days", type=int, default=30, help="the report's period (30 days)")
    parser.add_argument("--database-url", help="PostgreSQL URL; default: a temporary SQLite file")
    parser.add_argument(
        "--profile", action="store_true", help="then one more report under cProfile"
    )
    args = parser.parse_args()
    if not os.environ.get("CARDFORGE_SIGNER_SECRETS_FILE"):
        sys.exit("set CARDFORGE_SIGNER_SECRETS_FILE (the signer's secrets, as make test does)")

    scratch = configure(args.database_url)
    try:
        run(args, scratch)
    finally:
        if args.database_url:
            from django.db import connection

            connection.creation.destroy_test_db(
                connection.settings_dict["NAME"].removeprefix("test_"), verbosity=0
            )
        shutil.rmtree(scratch, ignore_errors=True)


def run(args, scratch: Path) -> None:
    import cryptography
    import django
    import weasyprint
    from django.db import connection
    from django.utils import timezone

    from reports.figures import Parameters

    world = build_world(args.events, args.days)
    started = _now()
    checkpoints = write_trail(world, args.events)
    written = _now() - started
    today = timezone.localdate()
    params = Parameters(start=today - dt.timedelta(days=args.days - 1), end=today)

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            vendor = f"PostgreSQL {cursor.fetchone()[0].split()[0]}"
    else:
        vendor = f"SQLite {connection.Database.sqlite_version}"
    openssl = subprocess.run(
        ["openssl", "version"], check=True, capture_output=True, text=True
    ).stdout.split()[1]
    print(
        f"# CardForge auditor report benchmark — {vendor}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, Django {django.get_version()}, WeasyPrint "
        f"{weasyprint.__version__}, cryptography {cryptography.__version__}, OpenSSL {openssl}"
    )

    directory = Path(tempfile.mkdtemp(prefix="audit-report-", dir=scratch))
    openssl_key(directory)
    rows, documents = read_trail()
    encoded = [
        json.dumps(d, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        for d, _ in documents
    ]
    build_report(params)  # imports, fonts, template and caches: before any timing
    rounds: list[Built] = []
    floors: dict[str, list[float]] = {"hash": [], "openssl": [], "sha": [], "raw": [], "walk": []}
    for _ in range(args.rounds):
        built = build_report(params)
        rounds.append(built)
        floors["hash"].append(bare_hashing(documents))
        floors["openssl"].append(openssl_sign(directory, built.pdf))
        floors["sha"].append(sha256_only(encoded))
        floors["raw"].append(raw_read())
        floors["walk"].append(walk_in_memory(rows))
    last = rounds[-1]
    decisions = len(last.figures.table("approvals").rows)
    checked = check(world, last, directory, decisions)

    cards = sum(cycle.card is not None for cycle in world.cycles)
    print(
        f"# {args.events:,} audit events ({checkpoints} signed checkpoints, written in "
        f"{written:.1f} s), {decisions:,} decisions and ~{cards:,} cards in the report's "
        f"{args.days} days; medians of {args.rounds} round{'s' if args.rounds > 1 else ''}\n"
    )
    print("| stage | seconds | baseline (same run) | baseline seconds | ratio |")
    print("|---|---:|---|---:|---:|")
    baselines = {
        "verify": (
            f"`json.dumps` + `hashlib.sha256` of the {len(documents):,} documents in memory",
            median(floors["hash"]),
        ),
        "sign": ("`openssl dgst -sha256 -sign`, EC P-256, same PDF", median(floors["openssl"])),
    }
    for key, title in STAGES:
        value = median([built.seconds[key] for built in rounds])
        name, floor = baselines.get(key, ("", None))
        print(
            f"| {title} | {seconds(value)} | {name} | "
            f"{seconds(floor) if floor is not None else ''} | "
            f"{f'{value / floor:.1f}' if floor else ''} |"
        )
    total = median([sum(built.seconds.values()) for built in rounds])
    print(f"| **the whole report** | **{seconds(total)}** | | | |")
    print()
    sections = ", ".join(
        f"{name} {seconds(median([built.sections[name] for built in rounds]))} s"
        for name in last.sections
    )
    print(f"figure queries by section: {sections}")
    print(
        f"the verification's parts: the same columns read with a raw cursor "
        f"{seconds(median(floors['raw']))} s; `verify_events` over the rows in memory "
        f"{seconds(median(floors['walk']))} s; SHA-256 alone of the encoded documents "
        f"{seconds(median(floors['sha']))} s"
    )
    print(
        f"WeasyPrint logged {last.pdf_warnings:,} warnings while making each PDF (stderr: "
        "the charts' inline SVG)"
    )
    print(f"checked (not timed): {checked}")
    if args.profile:
        profile(params)


def profile(params) -> None:
    """One more report under cProfile: the functions that took the most time of their own, and
    the most time under them."""
    profiler = cProfile.Profile()
    profiler.runcall(build_report, params)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)
    print("\n## cProfile of one more report\n")
    print(out.getvalue())


if __name__ == "__main__":
    main()
