"""Yubico extensions through the client: version, serial, metadata, PIN retries, reset."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from cardedge.piv import (
    Chuid,
    DataObjectNotFound,
    KeyAlgorithm,
    Pin,
    PivClient,
    Puk,
    SecurityStatusNotSatisfied,
    Slot,
    WrongPin,
)
from cardedge.piv.errors import ConditionsNotSatisfied, ReferencedDataNotFound
from cardedge.piv.secrets import default_management_key


def test_version_and_serial(client: PivClient) -> None:
    capabilities = client.capabilities()
    assert capabilities.version == (5, 4, 3)
    assert capabilities.serial is not None
    assert 0 < capabilities.serial < 2**32
    assert capabilities.aes_management_key
    assert capabilities.metadata


def test_pin_and_puk_metadata_follow_the_counters(client: PivClient) -> None:
    with pytest.raises(WrongPin):
        client.verify_pin(Pin("000000"))
    pin = client.get_pin_metadata()
    assert (pin.is_default, pin.retry_limit, pin.retries_left) == (True, 3, 2)
    client.change_puk(Puk("12345678"), Puk("87654321"))
    assert not client.get_puk_metadata().is_default


def test_metadata_of_an_empty_slot(client: PivClient) -> None:
    with pytest.raises(ReferencedDataNotFound):
        client.get_slot_metadata(Slot.CARD_AUTHENTICATION)


def test_set_pin_retries_needs_admin_and_pin_and_resets_them(client: PivClient) -> None:
    client.authenticate(default_management_key())
    with pytest.raises(SecurityStatusNotSatisfied):
        client.set_pin_retries(5, 4)
    client.change_pin(Pin("123456"), Pin("777777"))
    client.verify_pin(Pin("777777"))
    client.set_pin_retries(5, 4)
    assert client.pin_status().retries_left == 5
    assert client.get_puk_metadata().retry_limit == 4
    client.verify_pin(Pin("123456"))  # back to the factory PIN


def test_reset_only_when_pin_and_puk_are_blocked(client: PivClient) -> None:
    client.authenticate(default_management_key())
    client.write_chuid(Chuid(guid=uuid.uuid4(), expiry=dt.date(2030, 1, 1)))
    client.generate_key(Slot.PIV_AUTHENTICATION, KeyAlgorithm.ECC_P256)
    with pytest.raises(ConditionsNotSatisfied) as caught:
        client.reset_card()
    assert caught.value.sw == 0x6985
    for _ in range(3):
        with pytest.raises(WrongPin):
            client.verify_pin(Pin("000000"))
        with pytest.raises(WrongPin):
            client.change_puk(Puk("00000000"), Puk("00000000"))
    client.reset_card()
    with pytest.raises(DataObjectNotFound):
        client.read_chuid()
    with pytest.raises(ReferencedDataNotFound):
        client.get_slot_metadata(Slot.PIV_AUTHENTICATION)
    client.verify_pin(Pin("123456"))
    client.authenticate(default_management_key())
