"""Personalization throughput: N emulated cards through the real service path, next to the bare
cryptography of the same cards measured in the same run. Not a test: run it and read the ratios.

    .venv/bin/python -m benchmarks.personalization [--cards 50] [--rounds 3] [--database-url URL]
      (--database-url: a PostgreSQL server; the benchmark works in a fresh test database there)

Set-up (not timed): a scratch database, `pki_bootstrap` (software key backend, issuing CAs EC
P-256), the built-in card profiles, an emulated station that takes approved requests, an
enrolment officer and an approving officer, N x rounds professionals. Celery runs eagerly, so
each approval's personalization job runs when the approval commits, in this process.

Per card and profile (ECC: hpc-physician, P-256 keys; RSA: hpc-rsa, RSA-2048 keys), alternately:

* service: `card_request_submit` by one officer, `card_request_approve` by the other; the
  approval queues the job, the job runs through the real runner: database, journal, audit
  chain, PKI, emulated card (its state sealed and stored at every change);
* bare cryptography, with `cryptography` only: the card's 4 key generations, 4 certificates
  built and signed by the same EC P-256 CA keys, the quality check's 4 signatures and 4
  verifications, the management-key blocks of the two mutual authentications (3DES factory
  key, AES-192 derived key).

Cards per second of both, and the ratio service time / bare time, per round. Afterwards (not
timed): every card is personalized, holds its four certificates, which are valid and verify
against their CA, and the audit chain is intact; one more card per profile is run with a
statement counter.
"""

from __future__ import annotations

import argparse
import base64
import os
import platform
import secrets
import statistics
import time
from dataclasses import dataclass, field

PROFILES = {"ECC": "hpc-physician", "RSA": "hpc-rsa"}


def configure(database_url: str | None) -> None:
    from benchmarks.django_setup import setup

    os.environ["CELERY_BROKER_URL"] = "memory://localhost/"
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
    os.environ.setdefault("CARDFORGE_KEK", base64.b64encode(secrets.token_bytes(32)).decode())
    os.environ["CARDFORGE_PKI_BASE_URL"] = "http://pki.example.org"
    setup(database_url)


# --- set-up ----------------------------------------------------------------------------------


@dataclass
class World:
    enrolment_officer: object
    approving_officer: object
    profiles: dict  # name -> CardProfile
    ca_keys: dict  # certificate profile name -> (CA private key, CA certificate, CA slug)
    professionals: list = field(default_factory=list)


def build_world(count: int) -> World:
    from cryptography import x509
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from accounts.roles import Role
    from cardprofiles.services.versions import card_profile_sync_builtin
    from issuance.models import Organisation, Professional
    from issuance.validators import luhn_check_digit
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
    station_create(name="bench-1", transport="emulated", takes_approved_requests=True)

    def user(role: Role):
        made = get_user_model().objects.create_user(
            username=f"bench-{role.slug}", password=secrets.token_urlsafe(16)
        )
        made.groups.add(Group.objects.get(name=role.value))
        return made

    organisation = Organisation.objects.create(name="Centre hospitalier", finess="910000001")
    rows = []
    for index in range(count):
        payload = f"8{index:09d}"
        rows.append(
            Professional(
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
        )
    Professional.objects.bulk_create(rows)

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
        profiles=card_profiles,
        ca_keys=ca_keys,
        professionals=list(Professional.objects.order_by("rpps")),
    )


# --- the two paths ---------------------------------------------------------------------------


def bare_card(slots: dict, subject, ca_keys: dict) -> None:
    """The cryptography one card needs, with nothing but `cryptography`: `slots` as in the card
    profile, `subject` the professional's x509.Name, `ca_keys` by certificate profile."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from django.conf import settings

    from benchmarks.pki import bare_certificate
    from personalization.piv.algorithms import decrypt_block, encrypt_block
    from personalization.piv.constants import ManagementKeyAlgorithm

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


def service_card(world: World, profile_name: str, professional):
    """Submit and approve through the services; the job runs when the approval commits."""
    from issuance.services.card_requests import card_request_approve, card_request_submit

    request = card_request_submit(
        professional=professional,
        profile=world.profiles[profile_name],
        by=world.enrolment_officer,
    )
    return card_request_approve(card_request=request, by=world.approving_officer)


@dataclass
class Measured:
    service: float = 0.0
    bare: float = 0.0
    requests: list = field(default_factory=list)


def measure_round(world: World, profile_name: str, professionals: list) -> Measured:
    """Card by card, the service then the bare cryptography, so both see the same machine."""
    from pki.profiles import professional_name

    measured = Measured()
    slots = world.profiles[profile_name].current_version.definition["slots"]
    for professional in professionals:
        subject = professional_name(professional)  # the database is no part of the baseline
        started = time.perf_counter()
        request = service_card(world, profile_name, professional)
        measured.service += time.perf_counter() - started
        started = time.perf_counter()
        bare_card(slots, subject, world.ca_keys)
        measured.bare += time.perf_counter() - started
        measured.requests.append(request.pk)
    return measured


# --- checks (not timed) ------------------------------------------------------------------------


def verify_cards(request_ids: list[int], ca_keys: dict) -> int:
    """Every request completed into a personalized card whose four certificates are valid, verify
    against their CA and are the ones the emulated card holds. Returns the number of cards."""
    from cryptography import x509
    from django.utils import timezone

    from issuance.models import CardRequest
    from personalization.emulated_cards import emulated_card_open
    from personalization.models import Card, PersonalizationJob
    from personalization.piv import PivClient, Slot
    from personalization.transports.emulated import EmulatedTransport
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


def counted_card(world: World, profile_name: str, professional) -> tuple[int, dict[str, int]]:
    """One more card with every SQL statement counted (statements, emulator-state writes)."""
    from django.db import connection

    counts = {"statements": 0, "card state writes": 0, "savepoints": 0}

    def count(execute, sql, params, many, context):
        counts["statements"] += 1
        if sql.startswith("UPDATE") and "personalization_emulatedcard" in sql:
            counts["card state writes"] += 1
        if sql.startswith("SAVEPOINT"):
            counts["savepoints"] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        request = service_card(world, profile_name, professional)
    return request.pk, counts


# --- report ----------------------------------------------------------------------------------


def describe(values: list[float], fmt: str) -> str:
    low, high = min(values), max(values)
    if len(values) == 1 or f"{low:{fmt}}" == f"{high:{fmt}}":
        return f"{statistics.median(values):{fmt}}"
    return f"{low:{fmt}}-{high:{fmt}} (median {statistics.median(values):{fmt}})"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--cards", type=int, default=50, help="cards per profile and round (50)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per profile (3)")
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        action="append",
        help="only this key plan (repeatable; default both)",
    )
    parser.add_argument("--database-url", help="PostgreSQL URL; default: a temporary SQLite file")
    args = parser.parse_args()
    plans = args.profile or list(PROFILES)

    configure(args.database_url)
    import cryptography
    import django
    from django.db import connection

    from audit.models import AuditEvent
    from audit.selectors import audit_chain_verify
    from pki.profiles import professional_name

    per_round = args.cards
    # Per plan: one warm-up card, the timed rounds, one counted card.
    world = build_world(len(plans) * (per_round * args.rounds + 2))
    pool = iter(world.professionals)

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
    print(f"# {per_round} cards per profile and round, {args.rounds} rounds, Celery eager\n")

    results: dict[str, list[Measured]] = {}
    counts: dict[str, dict[str, int]] = {}
    all_requests: list[int] = []
    for plan in plans:
        profile_name = PROFILES[plan]
        (warm,) = take(1)  # imports, caches, first CA key loads
        all_requests.append(service_card(world, profile_name, warm).pk)
        bare_card(
            world.profiles[profile_name].current_version.definition["slots"],
            professional_name(warm),
            world.ca_keys,
        )
        results[plan] = []
        for _ in range(args.rounds):
            measured = measure_round(world, profile_name, take(per_round))
            results[plan].append(measured)
            all_requests += measured.requests
            print(
                f"{plan} ({profile_name}) round: service {per_round / measured.service:7.1f} "
                f"cards/s, bare {per_round / measured.bare:7.1f} cards/s, "
                f"ratio {measured.service / measured.bare:5.2f}",
                flush=True,
            )
        (counted,) = take(1)
        request_id, counts[plan] = counted_card(world, profile_name, counted)
        all_requests.append(request_id)

    started = time.perf_counter()
    cards = verify_cards(all_requests, world.ca_keys)
    chain = audit_chain_verify()
    assert chain.intact, chain.reason
    checked = time.perf_counter() - started

    print()
    print("| keys | profile | service cards/s | bare crypto cards/s | ratio service/bare |")
    print("|---|---|---:|---:|---:|")
    for plan, rounds in results.items():
        service = [per_round / m.service for m in rounds]
        bare = [per_round / m.bare for m in rounds]
        ratio = [m.service / m.bare for m in rounds]
        print(
            f"| {plan} | {PROFILES[plan]} | {describe(service, ',.1f')} | "
            f"{describe(bare, ',.1f')} | {describe(ratio, '.2f')} |"
        )
    print()
    for plan, figures in counts.items():
        per = ", ".join(f"{value} {name}" for name, value in figures.items())
        print(f"one {plan} card (submit + approve + job): {per}")
    print(
        f"checked (not timed, {checked:.1f} s): {cards} cards personalized, 4 valid certificates "
        f"each verified against their CA and read back from the card; audit chain of "
        f"{AuditEvent.objects.count():,} events intact"
    )


if __name__ == "__main__":
    main()
