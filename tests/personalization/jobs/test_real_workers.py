"""End to end with real Celery worker processes on Redis: a professional imported from CSV, a
request submitted and approved, a station's worker (`manage.py run_station`) personalizing the
card with the signer's worker (`manage.py run_signer`) making its certificates and secrets —
emulated, or through PC/SC (pyscard → private pcscd → vpcd → `emulate_card --card`) — and the
card checked as a relying party and its holder would. In the PC/SC run the request is submitted
and approved through a web process too, and neither the web's nor the station's environment
holds the KEK (docs/signer.md)."""

from __future__ import annotations

import io
import json
import os
import secrets
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from django.core.management import call_command

from accounts.roles import Role
from accounts.services.tokens import api_token_create
from audit.selectors import audit_chain_verify
from cardedge.piv import PivClient, Slot
from cardedge.piv.algorithms import algorithm_of
from cardedge.piv.errors import SecurityStatusNotSatisfied
from cardedge.transports.emulated import EmulatedTransport
from cards.models import Card, CardRequest
from cards.services.card_requests import card_request_approve, card_request_submit
from cards.services.secrets import pin_mailer_secrets
from issuance.models import Professional
from issuance.services.imports import professionals_import
from issuance.validators import luhn_check_digit
from personalization.emulated_cards import emulated_card_create, emulated_card_open
from personalization.models import EmulatedCard, JobStep, PersonalizationJob
from personalization.services.stations import station_create
from personalization.tasks import personalize_card
from pki.models import Certificate
from pki.x509util import der_to_pem
from signer.stations import station_enrol_here
from tests.cardedge.pcsc_harness import REPO_ROOT
from tests.personalization.jobs.workers import (
    SIGNER_ONLY,
    WorkerProcess,
    forget_run,
    run_id,
    wait_until,
    worker_environment,
)

pytestmark = [
    pytest.mark.slow,  # real Celery worker processes
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]
SLOTS = {
    "9A": Slot.PIV_AUTHENTICATION,
    "9C": Slot.DIGITAL_SIGNATURE,
    "9D": Slot.KEY_MANAGEMENT,
    "9E": Slot.CARD_AUTHENTICATION,
}


def _rpps() -> str:
    payload = f"10{secrets.randbelow(10**8):08d}"
    return payload + luhn_check_digit(payload)


def _approved_request_for_an_imported_professional(users, profiles, profile="hpc-physician"):
    rpps = _rpps()
    csv = (
        "rpps,last_name,first_name,profession,email,city\n"
        f"{rpps},Durand-Rossi,Amélie,physician,amelie.durand@example.org,Lyon\n"
    ).encode()
    report = professionals_import(content=csv, by=users[Role.ENROLMENT_OFFICER], file_name="t.csv")
    assert (report.created, report.errors) == (1, [])
    professional = Professional.objects.get(rpps=rpps)
    request = card_request_submit(
        professional=professional,
        profile=profiles[profile],
        by=users[Role.ENROLMENT_OFFICER],
    )
    # Approving queues the job on the station that takes approved requests, sent on commit.
    return card_request_approve(card_request=request, by=users[Role.APPROVING_OFFICER])


def _imported_professional(users) -> Professional:
    rpps = _rpps()
    csv = (
        "rpps,last_name,first_name,profession,email\n"
        f"{rpps},Lefèvre,Anaïs,10,anais.{rpps}@example.org\n"
    )
    report = professionals_import(
        content=csv.encode(), by=users[Role.ENROLMENT_OFFICER], file_name="w.csv"
    )
    assert (report.created, report.errors) == (1, [])
    return Professional.objects.get(rpps=rpps)


def _wait_done(request: CardRequest) -> PersonalizationJob:
    wait_until(
        lambda: PersonalizationJob.objects.filter(
            card_request=request, status__in=["done", "failed"]
        ).exists(),
        120,
        "the job to end",
        interval=0.25,
    )
    job = PersonalizationJob.objects.get(card_request=request)
    assert job.status == "done", (job.error_code, job.error_message)
    return job


def _personalize_and_wait(request: CardRequest, station_name: str) -> PersonalizationJob:
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "personalize",
        request.pk,
        "--station",
        station_name,
        "--wait",
        "--timeout",
        "90",
        stdout=out,
        stderr=err,
    )
    job = PersonalizationJob.objects.get(card_request=request)
    assert out.getvalue().endswith(f"Card {job.card.serial} personalized (job #{job.pk}).\n")
    return job


def _certificates(card: Card) -> dict[str, Certificate]:
    return {c.card_slot: c for c in Certificate.objects.for_card(card).select_related("ca")}


def _assert_chain_to_the_cas(certificates: dict[str, Certificate], directory: Path) -> None:
    """`openssl verify` against the root, with the issuing CA as intermediate."""
    for slot, certificate in certificates.items():
        issuing = certificate.ca
        files = {
            "root": (bytes(issuing.parent.certificate_der), directory / f"{slot}-root.pem"),
            "issuing": (bytes(issuing.certificate_der), directory / f"{slot}-issuing.pem"),
            "leaf": (bytes(certificate.der), directory / f"{slot}.pem"),
        }
        for der, path in files.values():
            path.write_text(der_to_pem(der, "CERTIFICATE"))
        result = subprocess.run(
            [
                "openssl",
                "verify",
                "-x509_strict",
                "-CAfile",
                str(files["root"][1]),
                "-untrusted",
                str(files["issuing"][1]),
                str(files["leaf"][1]),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        assert result.returncode == 0, f"{slot}: {result.stdout}{result.stderr}"
        leaf = x509.load_der_x509_certificate(bytes(certificate.der))
        leaf.verify_directly_issued_by(
            x509.load_der_x509_certificate(bytes(issuing.certificate_der))
        )


def _verify(public_key, signature: bytes, challenge: bytes) -> None:
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        public_key.verify(signature, challenge, ec.ECDSA(hashes.SHA256()))
    else:
        public_key.verify(signature, challenge, padding.PKCS1v15(), hashes.SHA256())


def _assert_the_card_works(client: PivClient, card: Card) -> None:
    """Every key signs a fresh challenge that its certificate verifies; 9C wants the PIN before
    every signature, 9A once per session."""
    pin, _ = pin_mailer_secrets(card.pin_mailer)
    certificates = {
        slot: x509.load_der_x509_certificate(bytes(c.der))
        for slot, c in _certificates(card).items()
    }
    for slot, certificate in certificates.items():
        assert client.read_certificate(SLOTS[slot]) == certificate
    client.verify_pin(pin)
    for slot in ("9A", "9D", "9E", "9A"):
        public_key = certificates[slot].public_key()
        challenge = os.urandom(32)
        signature = client.sign(SLOTS[slot], challenge, algorithm=algorithm_of(public_key))
        _verify(public_key, signature, challenge)
    public_key = certificates["9C"].public_key()
    for _ in range(2):
        challenge = os.urandom(32)
        client.verify_pin(pin)
        signature = client.sign(
            Slot.DIGITAL_SIGNATURE, challenge, algorithm=algorithm_of(public_key)
        )
        _verify(public_key, signature, challenge)
        # That PIN verification is used up: the next signature needs its own.
        with pytest.raises(SecurityStatusNotSatisfied):
            client.sign(Slot.DIGITAL_SIGNATURE, challenge, algorithm=algorithm_of(public_key))


def _assert_personalized_once(request: CardRequest, job: PersonalizationJob) -> Card:
    request.refresh_from_db()
    assert request.status == CardRequest.Status.COMPLETED
    card = Card.objects.get(card_request=request)
    assert (card.status, job.card_id) == (Card.Status.PERSONALIZED, card.pk)
    certificates = _certificates(card)
    assert set(certificates) == set(SLOTS)
    assert {c.status for c in certificates.values()} == {Certificate.Status.VALID}
    assert audit_chain_verify().intact
    return card


@pytest.fixture
def names():
    """Unique station names for this test run, and their queues forgotten in Redis after."""
    prefix = run_id()
    used: list[str] = []

    def name(role: str) -> str:
        used.append(f"{prefix}-{role}")
        return used[-1]

    name.prefix = prefix
    yield name
    forget_run(prefix, [f"station.{station}" for station in used] + [f"{prefix}-signer"])


@pytest.fixture
def signer(names, tmp_path):
    """The signer's worker (`manage.py run_signer`), on a queue of this run's own: the queue
    name, for the stations' environment. It alone is given the signer's secrets file."""
    queue = f"{names.prefix}-signer"
    worker = WorkerProcess.signer(
        tmp_path / "signer.log", env=worker_environment(CARDFORGE_SIGNER_QUEUE=queue)
    )
    try:
        worker.wait_ready()
        yield queue
    finally:
        assert worker.stop() == 0, worker.log()[-3000:]


def _without_the_signers_secrets(environment: dict[str, str]) -> dict[str, str]:
    """A station's or the web's environment holds none of the signer's secrets, and neither
    does the .env every process reads."""
    assert not set(SIGNER_ONLY) & set(environment), sorted(set(SIGNER_ONLY) & set(environment))
    dotenv = Path(REPO_ROOT) / ".env"
    if dotenv.exists():
        assert "CARDFORGE_KEK" not in dotenv.read_text()
    return environment


def test_an_imported_professional_gets_a_working_card_from_an_emulated_stations_worker(
    pki, profiles, users, names, signer, tmp_path
):
    station = station_create(
        name=names("emulated"), transport="emulated", takes_approved_requests=True
    )
    station_enrol_here(station)  # its key on this host (the station's), its certificate
    request = _approved_request_for_an_imported_professional(users, profiles)
    worker = WorkerProcess.station(
        station.name,
        tmp_path / "worker.log",
        env=_without_the_signers_secrets(worker_environment(CARDFORGE_SIGNER_QUEUE=signer)),
    )
    try:
        worker.wait_ready()
        station.refresh_from_db()  # online from the start, not only at the next ping
        assert station.is_online()
        assert station.worker.startswith(f"station-{station.name}@")
        job = _personalize_and_wait(request, station.name)

        # The same message again (a redelivery): the worker answers it without doing anything.
        steps, certificates = JobStep.objects.count(), Certificate.objects.count()
        again = personalize_card.apply_async(args=[job.pk], queue=station.queue)
        worker.wait_for_log(f"[{again.id}] succeeded", timeout=30)
        assert "'not claimed'" in worker.log().split(f"[{again.id}] succeeded", 1)[1][:80]
        assert (JobStep.objects.count(), Certificate.objects.count()) == (steps, certificates)
    finally:
        assert worker.stop() == 0, worker.log()[-3000:]

    card = _assert_personalized_once(request, job)
    station.refresh_from_db()  # stopped cleanly: offline at once
    assert (station.status, station.heartbeat_at) == ("offline", None)
    _assert_chain_to_the_cas(_certificates(card), tmp_path)
    # The card as its holder gets it: opened again from the database, as tomorrow.
    _assert_the_card_works(
        PivClient.connect(EmulatedTransport(emulated_card_open(card.emulated_card))), card
    )


def _api(base: str, path: str, token: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"{base}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        method="POST" if body is not None else "GET",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


@pytest.fixture
def web(tmp_path, signer):
    """The back office as its own process (`manage.py runserver`), without the signer's
    secrets: its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = _without_the_signers_secrets(worker_environment(CARDFORGE_SIGNER_QUEUE=signer))
    log = (tmp_path / "web.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=REPO_ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_until(lambda: _answers(base), 60, "the web process")
        except AssertionError as late:
            raise AssertionError(f"{late}:\n{(tmp_path / 'web.log').read_text()[-3000:]}") from None
        yield base
    finally:
        process.terminate()
        process.wait(20)
        log.close()


def _answers(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/api/v1/", timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # it answered
    except (urllib.error.URLError, OSError):
        return False


@pytest.mark.pcsc
def test_the_same_through_a_web_process_and_a_pcsc_station_and_opensc_lists_the_four_certificates(
    pki, profiles, users, names, tmp_path, pcsc_harness, second_reader, signer, web
):
    blank = emulated_card_create()  # in the reader: `emulate_card --card` on the test database
    second_reader.insert("--card", str(blank.serial), env=worker_environment())
    station = station_create(
        name=names("pcsc"),
        transport="pcsc",
        reader_pattern=second_reader.name,
        takes_approved_requests=True,
    )
    station_enrol_here(station)  # its key on this host (the station's), its certificate
    worker = WorkerProcess.station(
        station.name,
        tmp_path / "worker.log",
        env=_without_the_signers_secrets(
            worker_environment(
                PCSCLITE_CSOCK_NAME=str(pcsc_harness.pcscd.socket_path),
                CARDFORGE_SIGNER_QUEUE=signer,
            )
        ),
    )
    try:
        # Submitted and approved through the web process, by two officers with API tokens.
        professional = _imported_professional(users)
        _, submitter = api_token_create(user=users[Role.ENROLMENT_OFFICER])
        _, approver = api_token_create(user=users[Role.APPROVING_OFFICER])
        submitted = _api(
            web,
            "/api/v1/card-requests/",
            submitter,
            {"professional": professional.rpps, "profile": "hpc-physician"},
        )
        shown = _api(web, f"/api/v1/card-requests/{submitted['id']}/", approver)
        _api(
            web,
            f"/api/v1/card-requests/{submitted['id']}/approve/",
            approver,
            {"identity_sha256": shown["identity_sha256"]},
        )
        request = CardRequest.objects.get(pk=submitted["id"])
        job = _wait_done(request)
    finally:
        assert worker.stop() == 0, worker.log()[-3000:]

    card = _assert_personalized_once(request, job)
    assert (card.chip_serial, card.emulated_card) == (str(blank.serial), None)
    _assert_chain_to_the_cas(_certificates(card), tmp_path)

    listing = subprocess.run(
        ["pkcs15-tool", "--reader", "1", "--list-certificates"],
        env=pcsc_harness.pcscd.env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert listing.returncode == 0, listing.stdout + listing.stderr
    assert listing.stdout.count("X.509 Certificate [") == 4, listing.stdout
    listed = {
        line.split()[-1].lstrip("0")  # "Encoded serial : 02 14 <hex>" (DER INTEGER)
        for line in listing.stdout.splitlines()
        if line.strip().startswith("Encoded serial")
    }
    assert listed == {c.serial.upper().lstrip("0") for c in _certificates(card).values()}

    # The card process saved every change back into its database row, sealed.
    second_reader.remove()
    stored = EmulatedCard.objects.get(pk=blank.pk)
    _assert_the_card_works(PivClient.connect(EmulatedTransport(emulated_card_open(stored))), card)


@pytest.mark.printer
@pytest.mark.poppler
def test_a_station_with_a_printer_prints_exactly_one_face_for_the_card_its_worker_made(
    pki, profiles, users, names, signer, tmp_path
):
    """Acceptance (card printers): an approved request on a station whose printer is
    `ippeveprinter`, through real station and signer workers, ends with a personalized card and
    exactly one print job whose document shows that card's serial and holder name."""
    from personalization.models import CardPrint
    from personalization.services.stations import station_update
    from tests.personalization.jobs.virtual_printer import VirtualPrinter

    printer = VirtualPrinter.start(tmp_path / "printer")
    try:
        station = station_create(
            name=names("printing"), transport="emulated", takes_approved_requests=True
        )
        station = station_update(
            station=station, by=users[Role.ADMINISTRATOR], printer_uri=printer.uri
        )
        station_enrol_here(station)
        request = _approved_request_for_an_imported_professional(users, profiles)
        worker = WorkerProcess.station(
            station.name,
            tmp_path / "worker.log",
            env=_without_the_signers_secrets(worker_environment(CARDFORGE_SIGNER_QUEUE=signer)),
        )
        try:
            worker.wait_ready()
            job = _personalize_and_wait(request, station.name)
        finally:
            assert worker.stop() == 0, worker.log()[-3000:]
        card = _assert_personalized_once(request, job)
        (received,) = printer.received()
        text = subprocess.run(
            ["pdftotext", str(received), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert card.serial in text.replace(" ", "")
        assert card.card_request.snapshot.last_name.upper() in text.upper()
        (record,) = CardPrint.objects.filter(card=card)
        assert record.state == "completed"
        assert str(record.ipp_job_id) == received.name.split("-", 1)[0]
    finally:
        printer.stop()
