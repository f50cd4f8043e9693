"""A profile that manages the PUK (hpc-recoverable): the signer keeps it sealed, the card holds
it, and the PIN mailer carries the PIN alone; a profile that gives it (hpc-physician) prints it."""

from __future__ import annotations

import subprocess

import pytest

from accounts.roles import Role
from cardedge.piv import Pin
from cards.models import ManagedPuk, PinMailer
from cards.services.secrets import managed_puk_open, pin_mailer_secrets
from personalization.services.documents import pin_mailer_download
from tests.cards.holder import holder_client

pytestmark = pytest.mark.django_db


def _text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "mailer.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_a_managed_puk_is_kept_for_the_signer_and_never_printed(personalized, users, tmp_path):
    card = personalized("hpc-recoverable")
    pin, printed_puk = pin_mailer_secrets(PinMailer.objects.get(card=card))
    assert printed_puk is None
    puk = managed_puk_open(card)
    assert len(puk.reveal()) == 8
    # The card holds that PUK: it unblocks the PIN (RESET RETRY COUNTER) with it.
    client = holder_client(card)
    client.unblock_pin(puk, Pin("13572468"))
    client.verify_pin(Pin("13572468"))

    text = _text(pin_mailer_download(card=card, by=users[Role.ENCODING_OPERATOR]), tmp_path)
    assert "Your PIN" in text
    assert pin.reveal().decode() in text
    assert "PUK" not in text
    assert puk.reveal().decode() not in text
    assert "your card office unlocks it with you" in text


def test_a_given_puk_is_printed_and_not_kept(personalized, users, tmp_path):
    card = personalized("hpc-physician")
    _, puk = pin_mailer_secrets(PinMailer.objects.get(card=card))
    assert puk is not None
    assert not ManagedPuk.objects.filter(card=card).exists()
    text = _text(pin_mailer_download(card=card, by=users[Role.ENCODING_OPERATOR]), tmp_path)
    assert puk.reveal().decode() in text
