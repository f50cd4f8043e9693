"""Key recovery through real middleware: a hpc-recoverable card is lost; its replacement,
personalized on a PC/SC station (pyscard -> private pcscd -> vpcd -> `manage.py emulate_card`),
opens a CMS envelope made with `openssl cms -encrypt` for the lost card's encryption
certificate: OpenSC's PKCS#11 module, through `pkcs11-tool --derive`, does the ECDH with the
retired key (slot 82, PKCS#11 id 05) on the card."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from asn1crypto import cms
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from accounts.roles import Role
from cards.models import Card
from cards.services.card_actions import card_action_approve, card_action_request
from personalization.models import EncoderStation, PersonalizationJob
from personalization.runner.engine import Outcome, job_run
from personalization.services.stations import station_create
from pki.models import Certificate
from tests.cards.cms import envelope_open
from tests.cards.holder import hand_over_and_activate, holder_pin
from tests.cards.test_key_recovery import DOCUMENT, encrypt_to

pytestmark = [pytest.mark.pcsc, pytest.mark.django_db]

OPENSC_PKCS11 = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"
RETIRED_1_ID = "05"  # OpenSC's PIV driver: 9A 01, 9C 02, 9D 03, 9E 04, retired 82.. 05..


def _pkcs11_tool(reader, *args: str, cwd: Path) -> str:
    result = subprocess.run(
        ["pkcs11-tool", "--module", OPENSC_PKCS11, *args],
        env=reader.harness.pcscd.env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=cwd,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"pkcs11-tool {' '.join(args)}:\n{output}"
    return output


def _slot_of(reader, cwd: Path) -> str:
    """The PKCS#11 slot id of the second reader's card, from `pkcs11-tool -L`."""
    listing = _pkcs11_tool(reader, "--list-slots", cwd=cwd)
    for match in re.finditer(r"^Slot \d+ \((0x[0-9a-f]+)\): (.*)$", listing, re.MULTILINE):
        if reader.name.startswith(match.group(2).strip()[:30]):
            return match.group(1)
    pytest.fail(f"no slot for {reader.name!r}:\n{listing}")


def _originator_key(envelope: bytes) -> bytes:
    """The sender's ephemeral EC public key of the envelope, as SubjectPublicKeyInfo DER."""
    kari = cms.ContentInfo.load(envelope)["content"]["recipient_infos"][0].chosen
    point = kari["originator"].chosen["public_key"].native
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def test_the_replacement_opens_a_document_for_the_lost_card_through_opensc(
    personalized,
    approved,
    users,
    second_reader,
    tmp_path,
):
    lost = hand_over_and_activate(
        personalized("hpc-recoverable"), officer=users[Role.ENCODING_OPERATOR]
    )
    asked = card_action_request(
        card=lost, action="revoke", reason="lost", by=users[Role.ENROLMENT_OFFICER]
    )
    card_action_approve(card_action=asked, by=users[Role.APPROVING_OFFICER])
    old_certificate = Certificate.objects.for_card(lost).get(card_slot="9D")
    envelope = encrypt_to(bytes(old_certificate.der), tmp_path)

    # The replacement is made on a PC/SC station, in the second reader of the private pcscd.
    EncoderStation.objects.update(takes_approved_requests=False)
    station_create(
        name="reader-two",
        transport="pcsc",
        reader_pattern=second_reader.name,
        takes_approved_requests=True,
    )
    second_reader.insert("--state", str(tmp_path / "replacement.json"), "--serial", "31000042")
    request = approved("hpc-recoverable", reason="replacement", professional=lost.professional)
    job = PersonalizationJob.objects.get(card_request=request)
    assert job.station.name == "reader-two"
    assert job_run(job_id=job.pk, worker="station") is Outcome.DONE, job.error_message
    replacement = Card.objects.get(card_request=request)

    slot = _slot_of(second_reader, tmp_path)
    pin = holder_pin(replacement).reveal().decode()
    objects = _pkcs11_tool(
        second_reader, "--slot", slot, "--login", "--pin", pin, "--list-objects", cwd=tmp_path
    )
    assert f"ID:         {RETIRED_1_ID}" in objects, objects
    (tmp_path / "peer.der").write_bytes(_originator_key(envelope))
    _pkcs11_tool(
        second_reader,
        "--slot",
        slot,
        "--login",
        "--pin",
        pin,
        "--derive",
        "--mechanism",
        "ECDH1-DERIVE",
        "--id",
        RETIRED_1_ID,
        "--input-file",
        "peer.der",
        "--output-file",
        "shared.bin",
        cwd=tmp_path,
    )
    shared = (tmp_path / "shared.bin").read_bytes()
    assert envelope_open(envelope, lambda peer: shared) == DOCUMENT
