"""What an auditor's report says, for a period and optionally an organisation, card profile or
station: read from the database in a handful of aggregate queries, into plain tables that the
PDF, the CSV files and the back office all show the same way (docs/reports.md)."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import PrivilegedChange
from audit.chain import ChainReport
from audit.events import EventType
from audit.models import AuditCheckpoint, AuditEvent
from audit.selectors import audit_chain_verify
from cardprofiles.models import CardProfile
from cards.models import Card, CardActionRequest, CardRequest, KeyRecoveryRequest
from issuance.models import Organisation
from personalization.models import EncoderStation, PersonalizationJob
from pki.models import Certificate, RevocationRequest
from pki.reasons import RevocationReason

EXPIRY_HORIZONS = (30, 60, 90)
# Audit events that change someone's access (accounts/services/): the privileged account changes.
ACCESS_EVENTS = (
    EventType.USER_ROLE_GRANTED,
    EventType.USER_ROLE_WITHDRAWN,
    EventType.USER_ROLE_BOOTSTRAP_GRANTED,
    EventType.USER_PASSWORD_RESET,
    EventType.USER_SECOND_FACTOR_RESET,
    EventType.API_TOKENS_REVOKED,
    EventType.USER_ACCESS_CHANGED,
)


@dataclass(frozen=True)
class Parameters:
    """A report's period (whole days, both included, in the deployment's time zone) and
    filters."""

    start: dt.date
    end: dt.date
    organisation: Organisation | None = None
    profile: CardProfile | None = None
    station: EncoderStation | None = None

    @property
    def since(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time(), tzinfo=_zone())

    @property
    def until(self) -> dt.datetime:
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), tzinfo=_zone())

    @property
    def days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    def describe(self) -> list[tuple[str, str]]:
        return [
            ("Period", f"{self.start.isoformat()} to {self.end.isoformat()} (both included)"),
            ("Time zone", settings.TIME_ZONE),
            ("Organisation", str(self.organisation) if self.organisation else "all"),
            ("Card profile", self.profile.name if self.profile else "all"),
            ("Station", self.station.name if self.station else "all"),
        ]


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


@dataclass
class Table:
    key: str  # the CSV file's name
    title: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)
    note: str = ""

    @property
    def display_rows(self) -> list[list[tuple[object, bool]]]:
        """Each cell with whether it is a number (set right in tables)."""
        return [
            [(cell, isinstance(cell, int) and not isinstance(cell, bool)) for cell in row]
            for row in self.rows
        ]

    def total(self, column: str) -> int:
        index = self.columns.index(column)
        return sum(row[index] for row in self.rows if isinstance(row[index], int))


@dataclass
class Section:
    key: str
    title: str
    summary: list[tuple[str, str]]
    tables: list[Table]
    charts: list[str] = field(default_factory=list)  # keys of reports/charts.py


@dataclass
class Figures:
    parameters: Parameters
    generated_at: dt.datetime
    sections: list[Section]
    integrity: ChainReport
    events_in_period: tuple[int, int, str, str] | None  # first and last sequence, their hashes

    def table(self, key: str) -> Table:
        for section in self.sections:
            for table in section.tables:
                if table.key == key:
                    return table
        raise KeyError(key)

    @property
    def tables(self) -> list[Table]:
        return [table for section in self.sections for table in section.tables]


Progress = Callable[[int, str], None]


def _in(params: Parameters, field_name: str) -> Q:
    return Q(**{f"{field_name}__gte": params.since, f"{field_name}__lt": params.until})


def _narrowed(queryset, params: Parameters, *, organisation: str, profile: str, station: str):
    """`queryset` narrowed to the report's filters, each through its path from the model."""
    for value, path in (
        (params.organisation, organisation),
        (params.profile, profile),
        (params.station, station),
    ):
        if value is not None:
            queryset = queryset.filter(**{path: value})
    return queryset


def _requests(params: Parameters):
    requests = _narrowed(
        CardRequest.objects.all(),
        params,
        organisation="professional__organisation",
        profile="card_profile",
        station="cards__station",
    )
    return requests.distinct() if params.station else requests


def _cards(params: Parameters):
    return _narrowed(
        Card.objects.all(),
        params,
        organisation="professional__organisation",
        profile="card_profile",
        station="station",
    )


def _certificates(params: Parameters):
    certificates = Certificate.objects.all()
    if params.organisation:
        certificates = certificates.filter(professional__organisation=params.organisation)
    if params.profile or params.station:
        card_ids = [str(pk) for pk in _cards(params).values_list("pk", flat=True)]
        certificates = certificates.filter(card_object_id__in=card_ids)
    return certificates


def _jobs(params: Parameters):
    return _narrowed(
        PersonalizationJob.objects.all(),
        params,
        organisation="card_request__professional__organisation",
        profile="card_request__card_profile",
        station="station",
    )


def _counted(queryset, *fields: str, order: tuple[str, ...] | None = None) -> list[list]:
    """One row per distinct value of `fields`, with how many rows have it (`[*values, count]`),
    in the order of `fields` unless `order` says otherwise."""
    return [
        list(row)
        for row in queryset.values_list(*fields)
        .annotate(count=Count("pk"))
        .order_by(*(order or fields))
    ]


def _per_day(queryset, field_name: str) -> Counter:
    return Counter(
        dict(
            queryset.annotate(day=TruncDate(field_name, tzinfo=_zone()))
            .values_list("day")
            .annotate(count=Count("pk"))
            .values_list("day", "count")
        )
    )


def _activity(params: Parameters) -> Section:
    requests = _requests(params)
    submitted = _per_day(requests.filter(_in(params, "submitted_at")), "submitted_at")
    decided = requests.filter(_in(params, "decided_at"))
    approved = _per_day(decided.exclude(approved_identity_sha256=""), "decided_at")
    rejected = _per_day(decided.filter(status=CardRequest.Status.REJECTED), "decided_at")
    made = _cards(params).filter(_in(params, "issued_at"))
    personalized = _per_day(made, "issued_at")
    by_day = Table(
        "activity_by_day",
        "Card requests and cards per day",
        ["Day", "Submitted", "Approved", "Rejected", "Cards personalized"],
        [
            [day.isoformat(), submitted[day], approved[day], rejected[day], personalized[day]]
            for day in params.days
        ],
    )
    by_profile = Table(
        "cards_by_profile",
        "Cards personalized per card profile",
        ["Card profile", "Cards personalized"],
        _counted(made, "card_profile__name"),
    )
    by_station = Table(
        "cards_by_station",
        "Cards personalized per station",
        ["Station", "Cards personalized"],
        [[name or "(none)", count] for name, count in _counted(made, "station__name")],
    )
    summary = [
        ("Card requests submitted", str(by_day.total("Submitted"))),
        ("Approved", str(by_day.total("Approved"))),
        ("Rejected", str(by_day.total("Rejected"))),
        ("Cards personalized", str(by_day.total("Cards personalized"))),
    ]
    return Section(
        "activity",
        "Activity",
        summary,
        [by_day, by_profile, by_station],
        ["activity_by_day", "cards_by_profile"],
    )


def _inventory(params: Parameters) -> Section:
    cards = _cards(params)
    states = dict(
        cards.values_list("status").annotate(count=Count("pk")).values_list("status", "count")
    )
    by_state = Table(
        "cards_by_state",
        "Cards by state, at the time of the report",
        ["State", "Cards"],
        [[label, states.get(value, 0)] for value, label in Card.Status.choices],
    )
    now = timezone.now()
    live = cards.filter(status__in=Card.Status.live_values())
    expiring = Table(
        "cards_expiring",
        "Live cards expiring soon, from the time of the report",
        ["Within", "Cards"],
        [
            [
                f"{days} days",
                live.filter(
                    expires_at__gte=now, expires_at__lt=now + dt.timedelta(days=days)
                ).count(),
            ]
            for days in EXPIRY_HORIZONS
        ],
    )
    summary = [
        ("Live cards", str(live.count())),
        *[(f"Expiring within {row[0]}", str(row[1])) for row in expiring.rows],
    ]
    return Section("inventory", "Inventory", summary, [by_state, expiring], ["cards_by_state"])


def _certificates_section(params: Parameters) -> Section:
    certificates = _certificates(params)
    issued = Table(
        "certificates_issued",
        "Certificates issued per CA and profile",
        ["CA", "Profile", "Issued"],
        _counted(certificates.filter(_in(params, "issued_at")), "ca__slug", "profile"),
    )
    revoked_in = certificates.filter(_in(params, "revoked_at"))
    revoked = Table(
        "certificates_revoked",
        "Certificates revoked or put on hold per CA and profile",
        ["CA", "Profile", "Revoked or on hold"],
        _counted(revoked_in, "ca__slug", "profile"),
    )
    reasons = Table(
        "revocations_by_reason",
        "Revocations by reason (RFC 5280)",
        ["Reason", "Certificates"],
        [
            [RevocationReason(reason).label if reason is not None else "(none)", count]
            for reason, count in _counted(revoked_in, "revocation_reason")
        ],
    )
    summary = [
        ("Certificates issued", str(issued.total("Issued"))),
        ("Revoked or on hold", str(revoked.total("Revoked or on hold"))),
        ("Valid now", str(certificates.filter(status=Certificate.Status.VALID).count())),
    ]
    return Section(
        "certificates",
        "Certificates",
        summary,
        [issued, revoked, reasons],
        ["revocations_by_reason"],
    )


def _name(user) -> str:
    return user.get_username() if user is not None else ""


def _dual_control(params: Parameters) -> Section:
    approvals = Table(
        "approvals",
        "Every decision under four eyes",
        ["Decided at", "What", "Object", "Asked by", "Decided by", "Decision"],
    )
    requests = (
        _requests(params)
        .filter(_in(params, "decided_at"))
        .select_related("submitted_by", "decided_by", "professional")
    )
    for request in requests.order_by("decided_at"):
        approvals.rows.append(
            [
                timezone.localtime(request.decided_at).isoformat(timespec="seconds"),
                "card request",
                f"#{request.pk} {request.professional.rpps}",
                _name(request.submitted_by),
                _name(request.decided_by),
                "approved" if request.approved_identity_sha256 else request.status,
            ]
        )
    asked = (
        (
            RevocationRequest,
            "certificate revocation",
            lambda r: r.certificate.serial,
            ["certificate"],
        ),
        (CardActionRequest, "card action", lambda r: f"{r.action} {r.card.serial}", ["card"]),
    )
    if not (params.organisation or params.profile or params.station):
        for model, what, describe, related in asked:
            rows = model.objects.filter(_in(params, "decided_at")).select_related(
                "requested_by", "decided_by", *related
            )
            for row in rows:
                approvals.rows.append(
                    [
                        timezone.localtime(row.decided_at).isoformat(timespec="seconds"),
                        what,
                        describe(row),
                        _name(row.requested_by),
                        _name(row.decided_by),
                        row.status,
                    ]
                )
        for recovery in KeyRecoveryRequest.objects.filter(_in(params, "decided_at")).select_related(
            "requested_by", "first_approver", "decided_by", "escrowed_key__card"
        ):
            approvals.rows.append(
                [
                    timezone.localtime(recovery.decided_at).isoformat(timespec="seconds"),
                    "key recovery",
                    f"{recovery.escrowed_key.card.serial} {recovery.escrowed_key.slot}",
                    _name(recovery.requested_by),
                    f"{_name(recovery.first_approver)} + {_name(recovery.decided_by)}",
                    recovery.status,
                ]
            )
        for change in PrivilegedChange.objects.filter(_in(params, "decided_at")).select_related(
            "requested_by", "decided_by", "target"
        ):
            approvals.rows.append(
                [
                    timezone.localtime(change.decided_at).isoformat(timespec="seconds"),
                    f"privileged change: {change.get_kind_display()}",
                    _name(change.target),
                    _name(change.requested_by),
                    _name(change.decided_by),
                    change.status,
                ]
            )
    approvals.rows.sort(key=lambda row: row[0])
    self_approved = [row for row in approvals.rows if row[3] and row[3] == row[4]]
    self_table = Table(
        "self_approvals",
        "Self-approvals (a requester deciding their own request)",
        approvals.columns,
        self_approved,
        note=(
            "No self-approval exists in the period: every decision above was made by another "
            "person than the one who asked."
            if not self_approved
            else f"{len(self_approved)} decisions were made by the person who asked."
        ),
    )
    events = AuditEvent.objects.filter(_in(params, "created_at"))
    emergencies = Table(
        "emergency_actions",
        "Emergency actions (one administrator acting alone, flagged)",
        ["At", "Event", "Object", "By", "Reason"],
        [
            [
                timezone.localtime(event.created_at).isoformat(timespec="seconds"),
                event.event_type.label,
                f"{event.object_type} {event.object_id}",
                event.actor,
                str(event.payload.get("reason", "")),
            ]
            for event in events.filter(payload__emergency=True).order_by("sequence")
        ],
    )
    access = Table(
        "privileged_account_changes",
        "Changes to accounts and roles",
        ["At", "Event", "Account", "By", "Details"],
        [
            [
                timezone.localtime(event.created_at).isoformat(timespec="seconds"),
                event.event_type.label,
                str(
                    event.payload.get("username") or event.payload.get("target") or event.object_id
                ),
                event.actor,
                ", ".join(
                    f"{key}: {value}"
                    for key, value in sorted(event.payload.items())
                    if key not in {"username", "target"}
                ),
            ]
            for event in events.filter(event__in=[int(e) for e in ACCESS_EVENTS]).order_by(
                "sequence"
            )
        ],
    )
    summary = [
        ("Decisions under four eyes", str(len(approvals.rows))),
        ("Self-approvals", "none" if not self_approved else str(len(self_approved))),
        ("Emergency actions", str(len(emergencies.rows))),
        ("Account and role changes", str(len(access.rows))),
    ]
    return Section(
        "dual_control", "Dual control", summary, [approvals, self_table, emergencies, access]
    )


def _operations(params: Parameters) -> Section:
    jobs = _jobs(params)
    failed = jobs.filter(_in(params, "finished_at"), status=PersonalizationJob.Status.FAILED)
    errors = Table(
        "failed_jobs_by_error",
        "Failed personalization jobs by error code",
        ["Error code", "Jobs"],
        [
            [code or "(none)", count]
            for code, count in _counted(failed, "error_code", order=("-count", "error_code"))
        ],
    )
    retried = jobs.filter(_in(params, "queued_at"), attempt__gt=1).count()
    stations = EncoderStation.objects.order_by("name")
    if params.station:
        stations = stations.filter(pk=params.station.pk)
    outcomes: dict[int, Counter] = defaultdict(Counter)
    for station_id, status, count in (
        jobs.filter(_in(params, "queued_at"))
        .values_list("station_id", "status")
        .annotate(count=Count("pk"))
    ):
        outcomes[station_id][status] += count
    now = timezone.now()
    availability = Table(
        "stations",
        "Stations: jobs in the period and state at the time of the report",
        [
            "Station",
            "Jobs",
            "Personalized",
            "Failed",
            "Success rate",
            "Enabled",
            "Online",
            "Last heard",
        ],
    )
    for station in stations:
        counted = outcomes[station.pk]
        total = sum(counted.values())
        done, bad = (
            counted[PersonalizationJob.Status.DONE],
            counted[PersonalizationJob.Status.FAILED],
        )
        availability.rows.append(
            [
                station.name,
                total,
                done,
                bad,
                f"{100 * done // (done + bad)} %" if done + bad else "-",
                "yes" if station.is_enabled else "no",
                "yes" if station.is_online(now=now) else "no",
                timezone.localtime(station.heartbeat_at).isoformat(timespec="seconds")
                if station.heartbeat_at
                else "never",
            ]
        )
    summary = [
        ("Jobs failed", str(errors.total("Jobs"))),
        ("Jobs retried (attempt 2 or later)", str(retried)),
        ("Stations", str(len(availability.rows))),
    ]
    return Section(
        "operations", "Operations", summary, [errors, availability], ["failed_jobs_by_error"]
    )


def _integrity(params: Parameters, report: ChainReport) -> tuple[Section, tuple | None]:
    events = AuditEvent.objects.filter(_in(params, "created_at")).order_by("sequence")
    first = events.values_list("sequence", "hash").first()
    last = events.reverse().values_list("sequence", "hash").first()
    span = (first[0], last[0], first[1], last[1]) if first and last else None
    covering = AuditCheckpoint.objects.filter(created_at__gte=params.since).order_by("sequence")
    checkpoints = list(covering.filter(created_at__lt=params.until))
    following = covering.filter(created_at__gte=params.until).first()
    if following is not None:
        checkpoints.append(following)  # the first one after the period anchors its last events
    table = Table(
        "checkpoints",
        "Signed checkpoints covering the period",
        ["Event", "Head hash", "Signed at", "File SHA-256"],
        [
            [
                checkpoint.sequence,
                checkpoint.head_hash,
                timezone.localtime(checkpoint.created_at).isoformat(timespec="seconds"),
                checkpoint.file_sha256,
            ]
            for checkpoint in checkpoints
        ],
    )
    verdict = "intact" if report.intact else f"BROKEN at event {report.broken_at}: {report.reason}"
    summary = [
        ("Verification of the whole trail", verdict),
        ("Events checked", str(report.checked)),
        ("Signed checkpoints verified", str(len(report.checkpoints))),
    ]
    if span:
        summary += [
            ("First event of the period", f"{span[0]} ({span[2]})"),
            ("Last event of the period", f"{span[1]} ({span[3]})"),
        ]
    else:
        summary.append(("Events in the period", "none"))
    anchored = [c for c in checkpoints if span and c.sequence >= span[1]]
    if span and not anchored:
        table.note = "The period's last events are not anchored by a signed checkpoint yet."
    return Section("integrity", "Integrity of the audit trail", summary, [table]), span


SECTIONS = ("activity", "inventory", "certificates", "dual_control", "operations", "integrity")


def report_figures(params: Parameters, *, progress: Progress | None = None) -> Figures:
    """Everything the report shows; `progress(percent, stage)` is called between sections."""
    step = progress or (lambda _percent, _stage: None)
    sections = []
    for index, (name, build) in enumerate(
        (
            ("activity", _activity),
            ("inventory", _inventory),
            ("certificates", _certificates_section),
            ("dual control", _dual_control),
            ("operations", _operations),
        )
    ):
        step(5 + 10 * index, name)
        sections.append(build(params))
    step(55, "verifying the audit trail")
    integrity = audit_chain_verify()
    section, span = _integrity(params, integrity)
    sections.append(section)
    return Figures(params, timezone.now(), sections, integrity, span)
