"""The holder's side of a card's life, for tests: their emulated card answering through the same
PIV client a station uses, with the PIN of their (sealed) PIN mailer."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from cardedge.piv import PivClient, Slot
from cardedge.piv.constants import KeyAlgorithm
from cardedge.transports.emulated import EmulatedTransport
from cards.models import Card, PinMailer
from cards.services.cards import card_activate, card_activation_challenge, card_deliver
from cards.services.secrets import pin_mailer_secrets
from personalization.emulated_cards import emulated_card_open


def holder_pin(card: Card):
    """The PIN the holder read on their mailer (still sealed: taken without downloading it)."""
    return pin_mailer_secrets(PinMailer.objects.select_related("card").get(card=card))[0]


def holder_client(card: Card) -> PivClient:
    return PivClient.connect(EmulatedTransport(emulated_card_open(card.emulated_card)))


def holder_signs(card: Card, data: bytes, *, pin=None) -> bytes:
    """What the holder's middleware does: VERIFY PIN, then sign `data` with the 9A key
    (ECDSA-SHA256 or RSA PKCS#1 v1.5 SHA-256, by the key the certificate names)."""
    client = holder_client(card)
    client.verify_pin(pin or holder_pin(card))
    certificate: x509.Certificate | None = client.read_certificate(Slot.PIV_AUTHENTICATION)
    assert certificate is not None
    algorithm = (
        KeyAlgorithm.RSA2048
        if isinstance(certificate.public_key(), rsa.RSAPublicKey)
        else KeyAlgorithm.ECC_P256
    )
    return client.sign(Slot.PIV_AUTHENTICATION, data, algorithm=algorithm)


def hand_over_and_activate(card: Card, *, officer) -> Card:
    """The officer hands the card over; the holder activates it with a signature over a fresh
    challenge. The card, active."""
    pin = holder_pin(card)  # read before activation destroys an unread mailer
    card = card_deliver(card=card, by=officer)
    challenge = card_activation_challenge(card=card)
    return card_activate(
        card=card,
        challenge_id=challenge.pk,
        signature=holder_signs(card, bytes(challenge.challenge), pin=pin),
    )
