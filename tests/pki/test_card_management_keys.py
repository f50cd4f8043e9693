"""The service issue 5 calls for per-card management keys (DESIGN.md: derived, never stored)."""

from __future__ import annotations

import pytest

from config.errors import NotFound, ValidationFailed
from pki.key_backends import CARD_MANAGEMENT_MASTER_LABEL, key_backend
from pki.models import MasterKey
from pki.services.keys import card_management_key_derive


def test_derived_from_the_bootstrapped_master(pki):
    master = MasterKey.objects.get(purpose="card-management")
    assert master.key_handle == CARD_MANAGEMENT_MASTER_LABEL
    key = card_management_key_derive(card_identity=b"\x11" * 16, length=24)
    assert len(key) == 24
    assert card_management_key_derive(card_identity=b"\x11" * 16, length=24) == key
    assert card_management_key_derive(card_identity=b"\x22" * 16, length=24) != key
    assert key == key_backend(master.key_backend).derive_card_management_key(
        b"\x11" * 16, 24, master=master.key_handle
    )
    assert len(card_management_key_derive(card_identity=b"\x11" * 16, length=32)) == 32


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"card_identity": b"", "length": 24}, "card_identity"),
        ({"card_identity": "text", "length": 24}, "card_identity"),
        ({"card_identity": b"x", "length": 20}, "length"),
    ],
)
def test_bad_input_names_the_field(pki, kwargs, field):
    with pytest.raises(ValidationFailed) as caught:
        card_management_key_derive(**kwargs)
    assert caught.value.errors[0].field == field


def test_without_a_master_key_says_to_bootstrap(db):
    with pytest.raises(NotFound, match="bootstrap_pki"):
        card_management_key_derive(card_identity=b"card", length=24)


@pytest.mark.softhsm
def test_master_key_in_the_hsm_is_adopted_and_used(db, softhsm):
    from pki.services.cas import pki_bootstrap
    from tests.pki.conftest import HSM_HIERARCHY

    pki_bootstrap(backend="pkcs11", hierarchy=HSM_HIERARCHY)
    master = MasterKey.objects.get()
    assert master.key_backend == "pkcs11"
    first = card_management_key_derive(card_identity=b"GUID", length=16)
    assert first == key_backend("pkcs11").derive_card_management_key(b"GUID", 16)
