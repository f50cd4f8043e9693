"""Key recovery (docs/card-lifecycle.md): with hpc-recoverable, the encryption key (9D) is made
by the signer and escrowed; the holder's replacement card receives it in a retired-key slot,
so a document encrypted (openssl cms) to the lost card opens with the new one."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap
from cryptography.hazmat.primitives.serialization import Encoding

from accounts.roles import Role
from cardedge.piv import Slot
from cards.models import Card, EscrowedKey
from cards.services.card_actions import card_action_approve, card_action_request
from personalization.models import JobStep, PersonalizationJob
from pki.models import Certificate
from tests.cards.cms import envelope_open, envelope_recipients
from tests.cards.holder import hand_over_and_activate, holder_client, holder_pin

pytestmark = pytest.mark.django_db

DOCUMENT = b"Compte rendu d'hospitalisation: patient 42, sortie le 3 decembre.\n"


def encrypt_to(certificate_der: bytes, directory: Path) -> bytes:
    """`openssl cms -encrypt` to the certificate, as a hospital's mail system would."""
    recipient = directory / "recipient.pem"
    recipient.write_bytes(
        x509.load_der_x509_certificate(certificate_der).public_bytes(Encoding.PEM)
    )
    (directory / "document.txt").write_bytes(DOCUMENT)
    subprocess.run(
        [
            "openssl",
            "cms",
            "-encrypt",
            "-binary",
            "-aes256",
            "-in",
            str(directory / "document.txt"),
            "-outform",
            "DER",
            "-out",
            str(directory / "envelope.der"),
            str(recipient),
        ],
        check=True,
        capture_output=True,
    )
    return (directory / "envelope.der").read_bytes()


def _encryption_certificate(card: Card) -> Certificate:
    return Certificate.objects.for_card(card).get(card_slot="9D")


def lost_and_replaced(personalized, users) -> tuple[Card, Card]:
    """A hpc-recoverable card reported lost (revoked under four eyes), and its replacement,
    personalized and activated."""
    lost = hand_over_and_activate(
        personalized("hpc-recoverable"), officer=users[Role.ENCODING_OPERATOR]
    )
    asked = card_action_request(
        card=lost, action="revoke", reason="lost", by=users[Role.ENROLMENT_OFFICER]
    )
    card_action_approve(card_action=asked, by=users[Role.APPROVING_OFFICER])
    replacement = personalized(
        "hpc-recoverable", reason="replacement", professional=lost.professional
    )
    return lost, replacement


def test_the_encryption_key_is_escrowed_and_a_first_card_has_no_retired_key(
    personalized,
):
    card = personalized("hpc-recoverable")
    assert EscrowedKey.objects.filter(card=card, slot="9D").count() == 1
    job = PersonalizationJob.objects.get(card=card)
    step = JobStep.objects.get(job=job, name="import_retired_keys")
    assert step.detail == {"retired": []}
    assert holder_client(card).read_certificate(Slot.RETIRED_1) is None


def test_a_document_encrypted_to_the_lost_card_opens_with_the_replacement(
    personalized, users, tmp_path
):
    lost, replacement = lost_and_replaced(personalized, users)
    old_certificate = _encryption_certificate(lost)
    envelope = encrypt_to(bytes(old_certificate.der), tmp_path)
    assert envelope_recipients(envelope) == [old_certificate.serial.lstrip("0")]

    # The replacement holds the lost card's key and certificate in slot 82, and says so.
    client = holder_client(replacement)
    assert client.read_certificate(Slot.RETIRED_1) == x509.load_der_x509_certificate(
        bytes(old_certificate.der)
    )
    assert client.read_key_history().keys_with_on_card_certs == 1
    job = PersonalizationJob.objects.get(card=replacement)
    detail = JobStep.objects.get(job=job, name="import_retired_keys").detail
    assert detail["retired"] == [
        {"slot": "82", "from_card": lost.serial, "certificate_serial": old_certificate.serial}
    ]

    client.verify_pin(holder_pin(replacement))
    opened = envelope_open(envelope, lambda peer: client.ecdh(Slot.RETIRED_1, peer))
    assert opened == DOCUMENT
    # Its own, new encryption key is another one: the document does not open with it.
    assert _encryption_certificate(replacement).der != old_certificate.der
    with pytest.raises(InvalidUnwrap):
        envelope_open(envelope, lambda peer: client.ecdh(Slot.KEY_MANAGEMENT, peer))


def test_every_earlier_key_follows_newest_first(personalized, users):
    first, second = lost_and_replaced(personalized, users)
    second = hand_over_and_activate(second, officer=users[Role.ENCODING_OPERATOR])
    third = personalized("hpc-recoverable", reason="renewal", professional=first.professional)
    client = holder_client(third)
    assert client.read_key_history().keys_with_on_card_certs == 2
    assert client.read_certificate(Slot.RETIRED_1) == x509.load_der_x509_certificate(
        bytes(_encryption_certificate(second).der)
    )
    assert client.read_certificate(Slot.RETIRED_2) == x509.load_der_x509_certificate(
        bytes(_encryption_certificate(first).der)
    )
