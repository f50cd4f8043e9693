"""Per-card management keys, derived from the master key the PKI's key backend holds."""

from __future__ import annotations

from config.errors import FieldError, NotFound, ValidationFailed
from pki.key_backends import key_backend
from pki.key_backends.base import MAX_DERIVED_KEY_LENGTH
from pki.models import MasterKey

# SP 800-78-4 Table 5: 3DES (24 bytes) or AES-128/192/256 management keys.
MANAGEMENT_KEY_LENGTHS = (16, 24, 32)


def card_management_key_derive(*, card_identity: bytes, length: int = 24) -> bytes:
    """The PIV card management key (9B) of the card `card_identity` (e.g. its CHUID GUID),
    derived (NIST SP 800-108r1, HMAC-SHA256 counter mode) from the card-management master key
    that `pki_bootstrap` put in the key backend. Same inputs, same key; nothing is stored.

    The result is a secret: callers hand it to the card and keep it out of logs, exceptions,
    audit payloads and return values of their own.
    """
    if not isinstance(card_identity, bytes) or not card_identity:
        raise ValidationFailed([FieldError("card_identity", "must be non-empty bytes")])
    if length not in MANAGEMENT_KEY_LENGTHS or length > MAX_DERIVED_KEY_LENGTH:
        raise ValidationFailed(
            [FieldError("length", f"must be one of {MANAGEMENT_KEY_LENGTHS}, not {length}")]
        )
    master = MasterKey.objects.filter(purpose=MasterKey.Purpose.CARD_MANAGEMENT).first()
    if master is None:
        raise NotFound("no card-management master key yet; run `manage.py bootstrap_pki`")
    return key_backend(master.key_backend).derive_card_management_key(
        card_identity, length, master=master.key_handle
    )
