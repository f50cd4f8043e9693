"""RFC 5280 §5.3.1 CRLReason codes, as stored, offered to users and written into CRLs/OCSP."""

from __future__ import annotations

from cryptography import x509
from django.db import models


class RevocationReason(models.IntegerChoices):
    # RFC 5280 §5.3.1. Value 7 is unused by the RFC.
    UNSPECIFIED = 0, "unspecified"
    KEY_COMPROMISE = 1, "keyCompromise"
    CA_COMPROMISE = 2, "cACompromise"
    AFFILIATION_CHANGED = 3, "affiliationChanged"
    SUPERSEDED = 4, "superseded"
    CESSATION_OF_OPERATION = 5, "cessationOfOperation"
    CERTIFICATE_HOLD = 6, "certificateHold"
    REMOVE_FROM_CRL = 8, "removeFromCRL"
    PRIVILEGE_WITHDRAWN = 9, "privilegeWithdrawn"
    AA_COMPROMISE = 10, "aACompromise"

    @property
    def rfc_name(self) -> str:
        return self.label

    @property
    def flag(self) -> x509.ReasonFlags:
        return _FLAGS[self]

    @classmethod
    def parse(cls, value: str | int) -> RevocationReason:
        """A reason from its RFC 5280 name ("keyCompromise", any case) or its code ("1")."""
        text = str(value).strip()
        if text.isdigit() and int(text) in cls.values:
            return cls(int(text))
        folded = text.replace("_", "").replace("-", "").casefold()
        for member in cls:
            if member.label.casefold() == folded or member.name.replace("_", "").casefold() == (
                folded
            ):
                return member
        raise ValueError(unknown_reason_message(text))


# Reasons an end-entity certificate may be revoked for: the CA and attribute-authority
# compromise codes describe the issuer, not the subject (RFC 5280 §5.3.1).
END_ENTITY_REASONS = tuple(
    reason
    for reason in RevocationReason
    if reason not in {RevocationReason.CA_COMPROMISE, RevocationReason.AA_COMPROMISE}
)


# The names offered to users (API, command line), in code order.
END_ENTITY_REASON_NAMES = [reason.label for reason in END_ENTITY_REASONS]


def unknown_reason_message(text: str) -> str:
    names = ", ".join(reason.label for reason in END_ENTITY_REASONS)
    return f"unknown revocation reason {text!r} (use one of {names})"


_FLAGS = {
    RevocationReason.UNSPECIFIED: x509.ReasonFlags.unspecified,
    RevocationReason.KEY_COMPROMISE: x509.ReasonFlags.key_compromise,
    RevocationReason.CA_COMPROMISE: x509.ReasonFlags.ca_compromise,
    RevocationReason.AFFILIATION_CHANGED: x509.ReasonFlags.affiliation_changed,
    RevocationReason.SUPERSEDED: x509.ReasonFlags.superseded,
    RevocationReason.CESSATION_OF_OPERATION: x509.ReasonFlags.cessation_of_operation,
    RevocationReason.CERTIFICATE_HOLD: x509.ReasonFlags.certificate_hold,
    RevocationReason.REMOVE_FROM_CRL: x509.ReasonFlags.remove_from_crl,
    RevocationReason.PRIVILEGE_WITHDRAWN: x509.ReasonFlags.privilege_withdrawn,
    RevocationReason.AA_COMPROMISE: x509.ReasonFlags.aa_compromise,
}
