"""Emulated cards in the database: every change is stored, sealed, before the card answers."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from cardedge.apdu.status import StatusWord
from cardedge.emulator.errors import CardStorageError
from cardedge.piv import Pin, PivClient
from cardedge.piv.errors import CardStatusError, WrongPin
from cardedge.transports.emulated import EmulatedTransport
from personalization.emulated_cards import emulated_card_create, emulated_card_open
from personalization.factory import factory_pin
from personalization.models import EmulatedCard


def _client(card: EmulatedCard) -> PivClient:
    return PivClient.connect(EmulatedTransport(emulated_card_open(card)))


def _wrong_pin(client: PivClient) -> None:
    with pytest.raises(WrongPin):
        client.verify_pin(Pin("999999"))


@pytest.mark.django_db(transaction=True)
def test_a_counted_wrong_pin_is_stored_at_once_outside_any_transaction():
    card = emulated_card_create()
    assert not connection.in_atomic_block
    _wrong_pin(_client(card))
    # Another opening of the same card (tomorrow, another process) sees the try counted.
    assert _client(card).pin_status().retries_left == 2


@pytest.mark.django_db
def test_inside_a_transaction_the_change_is_part_of_it():
    card = emulated_card_create()
    with transaction.atomic():
        _wrong_pin(_client(card))
        assert _client(card).pin_status().retries_left == 2
        transaction.set_rollback(True)
    assert _client(card).pin_status().retries_left == 3


@pytest.mark.django_db
def test_a_card_that_no_longer_exists_answers_memory_failure_and_the_transaction_goes_on():
    card = emulated_card_create()
    client = _client(card)
    with transaction.atomic():
        EmulatedCard.objects.filter(pk=card.pk).delete()
        with pytest.raises(CardStatusError) as refused:
            client.verify_pin(factory_pin())
        assert refused.value.sw == StatusWord.MEMORY_FAILURE
        assert EmulatedCard.objects.count() == 0  # the transaction is still usable


@pytest.mark.django_db
def test_the_stored_state_is_sealed_for_this_card_only():
    card = emulated_card_create()
    other = emulated_card_create()
    blob = bytes(EmulatedCard.objects.get(pk=card.pk).state)
    assert factory_pin().reveal() not in blob
    assert b"pkcs8" not in blob
    EmulatedCard.objects.filter(pk=other.pk).update(state=blob)
    with pytest.raises(CardStorageError, match="does not open"):
        emulated_card_open(other)


@pytest.mark.django_db
def test_a_blank_card_is_signed_by_the_emulator_factorys_attestation_root(
    attestation_root, settings, tmp_path
):
    device = _client(emulated_card_create()).read_attestation_certificate()
    device.verify_directly_issued_by(attestation_root.certificate)
    # Without a configured root the card's attestation certificate is its own.
    settings.CARDFORGE_EMULATOR_ATTESTATION_KEY_FILE = None
    device = _client(emulated_card_create()).read_attestation_certificate()
    device.verify_directly_issued_by(device)


@pytest.mark.django_db
def test_an_unreadable_attestation_root_file_is_a_configuration_error_naming_it(settings, tmp_path):
    from django.core.exceptions import ImproperlyConfigured

    settings.CARDFORGE_EMULATOR_ATTESTATION_KEY_FILE = tmp_path / "missing.pem"
    with pytest.raises(ImproperlyConfigured, match="CARDFORGE_EMULATOR_ATTESTATION_KEY_FILE"):
        emulated_card_create()
    (tmp_path / "junk.pem").write_text("junk")
    settings.CARDFORGE_EMULATOR_ATTESTATION_KEY_FILE = tmp_path / "junk.pem"
    with pytest.raises(ImproperlyConfigured, match=r"junk\.pem: not a PEM private key"):
        emulated_card_create()
