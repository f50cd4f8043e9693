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
    STATION_CERTIFICATE_ISSUED = 313  # an encoder station's certificate (pki/services)
    PLATFORM_SIGNER_CREATED = 314  # a key of the platform and its certificate (audit, reports)
    CRL_GENERATED = 320

    PERSONALIZATION_JOB_QUEUED = 400
    PERSONALIZATION_JOB_STARTED = 401
    PERSONALIZATION_JOB_RESUMED = 402
    PERSONALIZATION_JOB_FAILED = 403
    PERSONALIZATION_JOB_RETRIED = 404
    PERSONALIZATION_JOB_CANCELLED = 405
    PERSONALIZATION_JOB_ABANDONED = 406
    PERSONALIZATION_JOB_REFUSED = 407  # a worker that is not the job's station received it
    CARD_PERSONALIZED = 410
    CARD_REPLACED = 411  # no longer written: a newer card activated revokes it (superseded)
    CARD_PRINTED = 412  # its face printed by the station's printer (runner/steps/printing.py)
    CARD_SPOILED = 413  # the printer aborted or canceled its face: the physical card is spoiled
    PIN_MAILER_DOWNLOADED = 420
    CARD_DOCUMENT_DOWNLOADED = 421
    STATION_CREATED = 430
    STATION_UPDATED = 431
    # The signer (docs/signer.md): 440 onwards.
    SIGNER_REQUEST_REFUSED = 440  # not a request of a registered station for its running job
    # A card's life after personalization (cards/services/cards.py, card_actions.py): 450 on.
    CARD_DELIVERED = 450
    CARD_ACTIVATED = 451
    CARD_ACTIVATION_REFUSED = 452  # a signature over the challenge that did not verify
    CARD_SUSPENDED = 453
    CARD_RESUMED = 454
    CARD_REVOKED = 455
    CARD_EXPIRED = 456
    CARD_DESTROYED = 457
    CARD_RENEWAL_DUE = 458  # inside its profile's renewal window (cards/services/renewals.py)
    CARD_PIN_UNBLOCKED = 459  # an approved unblock done at a station: a new PIN, a new mailer
    CARD_ACTION_REQUESTED = 460
    CARD_ACTION_REJECTED = 461
    CARD_ACTION_CANCELLED = 462
    KEY_RECOVERY_REQUESTED = 463  # an escrowed key asked for someone else than its holder
    KEY_RECOVERY_APPROVED = 464  # payload "approval": 1 or 2
    KEY_RECOVERY_REJECTED = 465
    KEY_RECOVERED = 466  # exported once, as PKCS#12, where the signer's secrets are

    # Auditor reports (reports/services.py): 600 onwards.
    REPORT_REQUESTED = 600
    REPORT_READY = 601  # built and signed; payload: the PDF's SHA-256
    REPORT_FAILED = 602
    REPORT_DOWNLOADED = 603

    CARD_PROFILE_CREATED = 500
    CARD_PROFILE_VERSION_CREATED = 501
    CARD_PROFILE_STATUS_CHANGED = 502

    USER_LOGGED_IN = 900
    USER_LOGIN_FAILED = 901
    USER_LOGGED_OUT = 902
    API_TOKEN_CREATED = 903
    USER_ACCESS_CHANGED = 904
    # Changes to someone's access and credentials (accounts/services/): 920 onwards.
    USER_ROLE_GRANTED = 920
    USER_ROLE_WITHDRAWN = 921
    USER_ROLE_BOOTSTRAP_GRANTED = 922
    USER_PASSWORD_RESET = 923
    USER_PASSWORD_SET_BY_LINK = 924
    USER_SECOND_FACTOR_RESET = 925
    API_TOKENS_REVOKED = 926
    PRIVILEGED_CHANGE_REQUESTED = 930
    PRIVILEGED_CHANGE_APPROVED = 931
    PRIVILEGED_CHANGE_REJECTED = 932
    PRIVILEGED_CHANGE_CANCELLED = 933
    # Sign-in hardening (accounts/lockout.py, accounts/second_factor.py): 905 onwards.
    USER_LOCKED_OUT = 905
    USER_UNLOCKED = 906
    SECOND_FACTOR_ENROLLED = 907
    SECOND_FACTOR_VERIFIED = 908

    @property
    def label(self) -> str:
        return self.name.replace("_", " ").capitalize()
