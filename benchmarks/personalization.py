"""Personalization throughput: N emulated cards through the real service path, next to the bare
cryptography of the same cards measured in the same run. Not a test: run it and read the ratios.

    .venv/bin/python -m benchmarks.personalization [--cards 40] [--rounds 3] [--processes 1]
        [--profile ECC|RSA] [--database-url URL]
      (--database-url: a PostgreSQL server; the benchmark works in a fresh test database there)

Set-up (not timed): a scratch database, `pki_bootstrap` (software key backend, issuing CAs EC
P-256), the built-in card profiles, emulated encoder stations, an enrolment officer, an approving
officer and an encoding operator, enough professionals. Celery runs eagerly: a job runs when the
transaction that queued it commits, in the process that queued it.

Per card and profile (ECC: hpc-physician, P-256 keys; RSA: hpc-rsa, RSA-2048 keys):

* service: `card_request_submit` by one officer, `card_request_approve` by the other; with one
  process, the approval queues the job on the station that takes approved requests; with P
  processes (one station each, as P encoder stations on P workers would run), the encoding
  operator queues it on the process's station (`job_queue`). The job runs through the real
  runner: database, journal, audit chain, PKI, emulated card (its sealed state written with
  each step's record);
* bare cryptography, with `cryptography` only: the card's 4 key generations, 4 certificates
  built and signed by the same EC P-256 CA keys, the quality check's 4 signatures and 4
  verifications, the management-key blocks of the two mutual authentications (3DES factory
  key, AES-192 derived key).

With one process the two alternate card by card, so both see the same machine. With P processes
each round runs the bare cryptography of N cards on P processes, then the service for N cards
on P processes, and times each from the first start to the last end. Reported per round: cards
per second of both and the ratio service time / bare time. Afterwards (not timed): every card is
personalized and holds its four certificates, which are valid, verify against their CA and read
back from the card; the audit chain is intact; one more card per profile is run with its SQL
statements and transactions counted.

One script over 400 lines on purpose: a benchmark is read and run whole, its set-up, baselines
and measured paths side by side; it is not imported by the application.
"""

from __future__ import annotations

import argparse
import base64
import multiprocessing
import os
import platform
import secrets
import shutil
import statistics
import time
import traceback
from dataclasses import dataclass, field

PROFILES = {"ECC": "hpc-physician", "RSA": "hpc-rsa"}


def configure(database_url: str | None):
    """Django on a scratch database; returns the scratch directory (SQLite file, var/)."""
    from benchmarks.django_setup import setup

    os.environ["CELERY_BROKER_URL"] = "memory://localhost/"
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
    os.environ.setdefault("CARDFORGE_KEK", base64.b64encode(secrets.token_bytes(32)).decode())
    os.environ["CARDFORGE_PKI_BASE_URL"] = "http://pki.example.org"
    return setup(database_url)


# --- set-up ----------------------------------------------------------------------------------


@dataclass
class World:
    enrolment_officer: object
    approving_officer: object
    encoding_operator: object
    profiles: dict  # name -> CardProfile
    slots: dict  # profile name -> its slots (current version)
    ca_keys: dict  # certificate profile name -> (CA private key, CA certificate, CA)
    stations: list  # one per process
    professionals: list = field(default_factory=list)


def professional_row(index: int, organisation):
    """The benchmarks' professional number `index` (unsaved): a valid RPPS, a long accented
    name."""
    from issuance.models import Professional
    from issuance.validators import luhn_check_digit

    payload = f"8{index:09d}"
    return Professional(
        rpps=payload + luhn_check_digit(payload),
        last_name="Lefèvre-Nguyễn",
        first_name="Hélène",
        profession=10,
        email=f"p{index}@example.org",
        address_line1=f"{index} rue de Rivoli",
        postal_code="75001",
        city="Paris",
        organisation=organisation,
    )


def build_world(count: int, processes: int) -> World:
    from cryptography import x509
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from accounts.roles import Role
    from cardprofiles.services.versions import card_profile_sync_builtin
    from issuance.models import Organisation, Professional
    from personalization.services.stations import station_create
    from pki import profiles
    from pki.key_backends import key_backend
    from pki.services.cas import pki_bootstrap
    from pki.services.signing import current_ca

    pki_bootstrap(backend="software")
    card_profiles = {
        result.version.profile.name: result.version.profile
        for result in card_profile_sync_builtin()
    }
    # One process: the station takes approved requests. More: one station per process, each
    # given its jobs by the encoding operator.
    stations = [
        station_create(
            name=f"bench-{number}", transport="emulated", takes_approved_requests=processes == 1
        )
        for number in range(1, processes + 1)
    ]

    def user(role: Role):
        made = get_user_model().objects.create_user(
            username=f"bench-{role.slug}", password=secrets.token_urlsafe(16)
        )
        made.groups.add(Group.objects.get(name=role.value))
        return made

    organisation = Organisation.objects.create(name="Centre hospitalier", finess="910000009")
    Professional.objects.bulk_create(
        [professional_row(index, organisation) for index in range(count)]
    )

    ca_keys = {}
    for name in (
        "hp-authentication",
        "hp-qualified-signature",
        "hp-encryption",
        "hp-card-authentication",
    ):
        ca = current_ca(profiles.PROFILES[name].ca_purpose)
        # The benchmark, not the product, reaches into the backend for the clear key: the
        # baseline must sign with the same key, as plain cryptography would.
        private = key_backend(ca.key_backend)._load_private(ca.key_handle)
        ca_keys[name] = (private, x509.load_der_x509_certificate(bytes(ca.certificate_der)), ca)
    return World(
        enrolment_officer=user(Role.ENROLMENT_OFFICER),
        approving_officer=user(Role.APPROVING_OFFICER),
        encoding_operator=user(Role.ENCODING_OPERATOR),
        profiles=card_profiles,
        slots={
            name: profile.current_version.definition["slots"]
            for name, profile in card_profiles.items()
        },
        ca_keys=ca_keys,
        stations=stations,
        professionals=list(Professional.objects.select_related("organisation").order_by("rpps")),
    )


# --- the two paths ---------------------------------------------------------------------------


def bare_card(slots: dict, subject, ca_keys: dict) -> None:
    """The cryptography one card needs, with nothing but `cryptography`: `slots` as in the card
    profile, `subject` the professional's x509.Name, `ca_keys` by certificate profile."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from django.conf import settings

    from benchmarks.pki import bare_certificate
    from cardedge.piv.algorithms import decrypt_block, encrypt_block
    from cardedge.piv.constants import ManagementKeyAlgorithm

    # Two mutual authentications: the factory 3DES key, then the derived AES-192 key.
    for algorithm, key in (
        (ManagementKeyAlgorithm.TDES, os.urandom(24)),
        (ManagementKeyAlgorithm.AES192, os.urandom(24)),
    ):
        for _ in range(2):  # witness and challenge, card side and host side
            block = os.urandom(algorithm.block_size)
            encrypt_block(algorithm, key, decrypt_block(algorithm, key, block))
    card_keys = []
    for _slot, spec in sorted(slots.items()):
        if spec["algorithm"] == "rsa2048":
            private_key = rsa.generate_private_key(65537, 2048)
        else:
            private_key = ec.generate_private_key(ec.SECP256R1())
        ca_key, ca_certificate, ca = ca_keys[spec["certificate_profile"]]
        bare_certificate(
            ca_key,
            ca_certificate,
            subject,
            private_key.public_key(),
            base_url=settings.CARDFORGE_PKI_BASE_URL,
            slug=ca.slug,
        )
        card_keys.append(private_key)
    for private_key in card_keys:  # quality check: sign a fresh challenge, verify it
        challenge = os.urandom(32)
        if isinstance(private_key, rsa.RSAPrivateKey):
            signature = private_key.sign(challenge, padding.PKCS1v15(), hashes.SHA256())
            private_key.public_key().verify(
                signature, challenge, padding.PKCS1v15(), hashes.SHA256()
            )
        else:
            signature = private_key.sign(challenge, ec.ECDSA(hashes.SHA256()))
            private_key.public_key().verify(signature, challenge, ec.ECDSA(hashes.SHA256()))


def service_card(world: World, profile_name: str, professional, station=None):
    """Submit and approve through the services. Without `station`, the approval queues the job
    on the station that takes approved requests; with it, the encoding operator queues the job
    there. Either way the job runs when the transaction that queued it commits."""
    from cards.services.card_requests import card_request_approve, card_request_submit
    from personalization.services.jobs import job_queue

    request = card_request_submit(
        professional=professional,
        profile=world.profiles[profile_name],
        by=world.enrolment_officer,
    )
    request = card_request_approve(card_request=request, by=world.approving_officer)
    if station is not None:
        job_queue(card_request=request, station=station, by=world.encoding_operator)
    return request


@dataclass
class Measured:
    service: float = 0.0
    bare: float = 0.0
    requests: list = field(default_factory=list)


def measure_round(world: World, profile_name: str, professionals: list) -> Measured:
    """One process: card by card, the service then the bare cryptography, so both see the same
    machine."""
    from issuance.identity import identity_of
    from pki.profiles import professional_name

    measured = Measured()
    slots = world.slots[profile_name]
    for professional in professionals:
        # The database is no part of the baseline.
        subject = professional_name(identity_of(professional))
        started = time.perf_counter()
        request = service_card(world, profile_name, professional)
        measured.service += time.perf_counter() - started
        started = time.perf_counter()
        bare_card(slots, subject, world.ca_keys)
        measured.bare += time.perf_counter() - started
        measured.requests.append(request.pk)
    return measured


def parallel_worker(world, index, work, barrier, results) -> None:
    """One of P processes: for each (plan, round), its share of the bare phase, then of the
    service phase, each started together with the others; (plan, round, phase, start, end,
    request ids) go to `results` (time.perf_counter is the system's monotonic clock)."""
    try:
        from django.db import connection

        from issuance.identity import identity_of
        from pki.profiles import professional_name

        connection.ensure_connection()  # this process's own connection, opened untimed
        station = world.stations[index]
        for plan, round_number, professionals in work:
            profile_name = PROFILES[plan]
            subjects = [professional_name(identity_of(p)) for p in professionals]
            barrier.wait()
            started = time.perf_counter()
            for subject in subjects:
                bare_card(world.slots[profile_name], subject, world.ca_keys)
            results.put((plan, round_number, "bare", started, time.perf_counter(), []))
            barrier.wait()
            started = time.perf_counter()
            requests = [
                service_card(world, profile_name, professional, station).pk
                for professional in professionals
            ]
            results.put((plan, round_number, "service", started, time.perf_counter(), requests))
    except BaseException:
        results.put(("error", traceback.format_exc()))
        barrier.abort()
        raise


def measure_parallel(world: World, plans: list[str], rounds: int, per_round: int, take):
    """P processes (forked, each with its own station and database connection): Measured per
    plan and round, from the first start to the last end of each phase."""
    from django.db import connections

    processes = len(world.stations)
    shares = {}  # (plan, round) -> professionals per process
    for plan in plans:
        for round_number in range(rounds):
            cards = take(per_round)
            shares[plan, round_number] = [cards[index::processes] for index in range(processes)]
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(processes)
    results = context.Queue()
    connections.close_all()  # never share a connection across fork
    workers = [
        context.Process(
            target=parallel_worker,
            args=(
                world,
                index,
                [
                    (plan, round_number, shares[plan, round_number][index])
                    for plan in plans
                    for round_number in range(rounds)
                ],
                barrier,
                results,
            ),
        )
        for index in range(processes)
    ]
    for worker in workers:
        worker.start()
    spans: dict = {}
    for _ in range(len(plans) * rounds * 2 * processes):
        message = results.get()
        if message[0] == "error":
            for worker in workers:
                worker.terminate()
            raise RuntimeError(f"a benchmark process failed:\n{message[1]}")
        plan, round_number, phase, started, finished, requests = message
        span = spans.setdefault((plan, round_number, phase), [started, finished, []])
        span[0], span[1] = min(span[0], started), max(span[1], finished)
        span[2] += requests
    for worker in workers:
        worker.join()
    measured: dict[str, list[Measured]] = {}
    for plan in plans:
        measured[plan] = []
        for round_number in range(rounds):
            bare = spans[plan, round_number, "bare"]
            service = spans[plan, round_number, "service"]
            measured[plan].append(
                Measured(
                    service=service[1] - service[0],
                    bare=bare[1] - bare[0],
                    requests=service[2],
                )
            )
    return measured


# --- checks (not timed) ------------------------------------------------------------------------


def verify_cards(request_ids: list[int], ca_keys: dict) -> int:
    """Every request completed into a personalized card whose four certificates are valid, verify
    against their CA and are the ones the emulated card holds. Returns the number of cards."""
    from cryptography import x509
    from django.utils import timezone

    from cardedge.piv import PivClient, Slot
    from cardedge.transports.emulated import EmulatedTransport
    from cards.models import Card, CardRequest
    from personalization.emulated_cards import emulated_card_open
    from personalization.models import PersonalizationJob
    from pki.models import Certificate

    issuers = {ca.pk: certificate for _, certificate, ca in ca_keys.values()}
    now = timezone.now()
    cards = 0
    for request_id in request_ids:
        request = CardRequest.objects.get(pk=request_id)
        job = PersonalizationJob.objects.get(card_request=request)
        if job.status != PersonalizationJob.Status.DONE or request.status != "completed":
            msg = f"request {request_id}: job {job.status} ({job.error_code} {job.error_message})"
            raise AssertionError(msg)
        card = Card.objects.select_related("emulated_card").get(pk=job.card_id)
        assert card.status == Card.Status.PERSONALIZED, card.status
        rows = list(Certificate.objects.for_card(card))
        assert sorted(row.card_slot for row in rows) == ["9A", "9C", "9D", "9E"], rows
        client = PivClient.connect(EmulatedTransport(emulated_card_open(card.emulated_card)))
        for row in rows:
            assert row.status == "valid", (row.serial, row.status)
            certificate = x509.load_der_x509_certificate(bytes(row.der))
            certificate.verify_directly_issued_by(issuers[row.ca_id])
            assert certificate.not_valid_before_utc <= now < certificate.not_valid_after_utc
            assert client.read_certificate(Slot(int(row.card_slot, 16))) == certificate
        cards += 1
    return cards


def counted_card(
    world: World, profile_name: str, professional, station=None
) -> tuple[int, dict[str, int]]:
    """One more card with its SQL statements and transactions counted: commits of atomic blocks
    and writes made in autocommit mode (each its own transaction), of which the emulated card's
    state writes."""
    from django.db import connection

    counts = {"SQL statements": 0, "transactions": 0, "card state writes": 0}
    commit = connection.commit

    def count(execute, sql, params, many, context):
        counts["SQL statements"] += 1
        if sql.startswith(("INSERT", "UPDATE", "DELETE")) and not connection.in_atomic_block:
            counts["transactions"] += 1
        if sql.startswith("UPDATE") and "personalization_emulatedcard" in sql:
            counts["card state writes"] += 1
        return execute(sql, params, many, context)

    def counted_commit():
        counts["transactions"] += 1
        return commit()

    connection.commit = counted_commit
    try:
        with connection.execute_wrapper(count):
            request = service_card(world, profile_name, professional, station)
    finally:
        del connection.commit
    return request.pk, counts


# --- report ----------------------------------------------------------------------------------


def describe(values: list[float], fmt: str) -> str:
    low, high = min(values), max(values)
    if len(values) == 1 or f"{low:{fmt}}" == f"{high:{fmt}}":
        return f"{statistics.median(values):{fmt}}"
    return f"{low:{fmt}}-{high:{fmt}} (median {statistics.median(values):{fmt}})"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--cards", type=int, default=40, help="cards per profile and round (40)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per profile (3)")
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="processes, each with its own emulated station (1; the machine has "
        f"{os.cpu_count()} CPUs)",
    )
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        action="append",
        help="only this key plan (repeatable; default both)",
    )
    parser.add_argument("--database-url", help="PostgreSQL URL; default: a temporary SQLite file")
    args = parser.parse_args()
    plans = args.profile or list(PROFILES)
    processes = max(1, args.processes)

    scratch = configure(args.database_url)
    try:
        run(args, plans, processes)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)  # ~80 MB of SQLite and WAL per run


def run(args, plans: list[str], processes: int) -> None:
    import cryptography
    import django
    from django.db import connection

    from audit.models import AuditEvent
    from audit.selectors import audit_chain_verify
    from issuance.identity import identity_of
    from pki.profiles import professional_name

    per_round = args.cards
    # Per plan: one warm-up card, the timed rounds, one counted card.
    world = build_world(len(plans) * (per_round * args.rounds + 2), processes)
    pool = iter(world.professionals)
    station = world.stations[0] if processes > 1 else None

    def take(count: int) -> list:
        return [next(pool) for _ in range(count)]

    vendor = connection.vendor
    if vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            vendor = f"PostgreSQL {cursor.fetchone()[0].split()[0]}"
    else:
        vendor = f"SQLite {connection.Database.sqlite_version}"
    print(
        f"# CardForge personalization benchmark — {vendor}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, Django {django.get_version()}, "
        f"cryptography {cryptography.__version__}"
    )
    print(
        f"# {per_round} cards per profile and round, {args.rounds} rounds, "
        f"{processes} process{'es' if processes > 1 else ''} (one emulated station each), "
        "Celery eager\n"
    )

    all_requests: list[int] = []
    for plan in plans:  # imports, caches, the CA keys' first loads: before any timing
        (warm,) = take(1)
        all_requests.append(service_card(world, PROFILES[plan], warm, station).pk)
        bare_card(world.slots[PROFILES[plan]], professional_name(identity_of(warm)), world.ca_keys)

    results: dict[str, list[Measured]] = {}
    if processes == 1:
        for plan in plans:
            results[plan] = [
                measure_round(world, PROFILES[plan], take(per_round)) for _ in range(args.rounds)
            ]
    else:
        results = measure_parallel(world, plans, args.rounds, per_round, take)
    for plan, rounds in results.items():
        for measured in rounds:
            all_requests += measured.requests
            print(
                f"{plan} ({PROFILES[plan]}) round: service {per_round / measured.service:7.1f} "
                f"cards/s, bare {per_round / measured.bare:7.1f} cards/s, "
                f"ratio {measured.service / measured.bare:5.2f}"
            )

    counts: dict[str, dict[str, int]] = {}
    for plan in plans:
        (counted,) = take(1)
        request_id, counts[plan] = counted_card(world, PROFILES[plan], counted, station)
        all_requests.append(request_id)

    started = time.perf_counter()
    cards = verify_cards(all_requests, world.ca_keys)
    chain = audit_chain_verify()
    assert chain.intact, chain.reason
    checked = time.perf_counter() - started

    print()
    print(
        "| keys | profile | processes | service cards/s | bare crypto cards/s "
        "| ratio service/bare |"
    )
    print("|---|---|---:|---:|---:|---:|")
    for plan, rounds in results.items():
        service = [per_round / m.service for m in rounds]
        bare = [per_round / m.bare for m in rounds]
        ratio = [m.service / m.bare for m in rounds]
        print(
            f"| {plan} | {PROFILES[plan]} | {processes} | {describe(service, ',.1f')} | "
            f"{describe(bare, ',.1f')} | {describe(ratio, '.2f')} |"
        )
    print()
    for plan, figures in counts.items():
        per = ", ".join(f"{value} {name}" for name, value in figures.items())
        print(f"one {plan} card (submit, approve, queue, job): {per}")
    print(
        f"checked (not timed, {checked:.1f} s): {cards} cards personalized, 4 valid certificates "
        f"each verified against their CA and read back from the card; audit chain of "
        f"{AuditEvent.objects.count():,} events intact"
    )


if __name__ == "__main__":
    main()
