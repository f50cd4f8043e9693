"""Audit event types: stable numeric codes grouped by domain. A code is never reused or renumbered.

100 registry · 200 card requests · 300 PKI · 400 cards and personalization · 500 card profiles ·
900 accounts and sessions.
"""

from enum import IntEnum


class EventType(IntEnum):
    ORGANISATION_CREATED = 100
    ORGANISATION_UPDATED = 101
    PROFESSIONAL_CREATED = 110
    PROFESSIONAL_UPDATED = 111
    PROFESSIONALS_IMPORTED = 112

    CARD_REQUEST_SUBMITTED = 200
    CARD_REQUEST_APPROVED = 201
    CARD_REQUEST_REJECTED = 202
    CARD_REQUEST_CANCELLED = 203

    CERTIFICATE_ISSUED = 300
    CERTIFICATE_REVOCATION_REQUESTED = 301
    CERTIFICATE_REVOKED = 302
    CERTIFICATE_HOLD_RELEASED = 303
    REVOCATION_REQUEST_REJECTED = 304
    REVOCATION_REQUEST_CANCELLED = 305
    CA_CREATED = 310
    OCSP_RESPONDER_CREATED = 311
    MASTER_KEY_CREATED = 312
    CRL_GENERATED = 320

    CARD_PROFILE_CREATED = 500
    CARD_PROFILE_VERSION_CREATED = 501
    CARD_PROFILE_STATUS_CHANGED = 502

    USER_LOGGED_IN = 900
    USER_LOGIN_FAILED = 901
    USER_LOGGED_OUT = 902
    API_TOKEN_CREATED = 903
    USER_ACCESS_CHANGED = 904

    @property
    def label(self) -> str:
        return self.name.replace("_", " ").capitalize()
