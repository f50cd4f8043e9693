"""Identifiers of the PIV card edge (NIST SP 800-73-4 Part 1 §§2-3, SP 800-78-4 Table 6-1).

Yubico's extensions (https://developers.yubico.com/PIV/Introduction/Yubico_extensions.html) are
listed with the standard ones because OpenSC and yubico-piv-tool send them to any PIV card.
"""

from __future__ import annotations

from enum import IntEnum

# SP 800-73-4 Part 1 §2.2: RID A000000308, PIX 00001000 0100 (application + version).
PIV_AID = bytes.fromhex("A000000308000010000100")
PIV_RID = PIV_AID[:5]
# OpenSC selects the 9-byte prefix, libykpiv the 5-byte RID: right-truncated selection.
PIV_AID_MIN_SELECT_LENGTH = 5


class Ins(IntEnum):
    """Instruction bytes (SP 800-73-4 Part 2 §3, ISO/IEC 7816-4, Yubico extensions)."""

    VERIFY = 0x20
    CHANGE_REFERENCE_DATA = 0x24
    RESET_RETRY_COUNTER = 0x2C
    GENERATE_ASYMMETRIC_KEY_PAIR = 0x47
    GENERAL_AUTHENTICATE = 0x87
    SELECT = 0xA4
    GET_RESPONSE = 0xC0
    GET_DATA = 0xCB
    PUT_DATA = 0xDB
    # Yubico extensions
    GET_METADATA = 0xF7
    GET_SERIAL = 0xF8
    ATTEST = 0xF9
    SET_PIN_RETRIES = 0xFA
    RESET = 0xFB
    GET_VERSION = 0xFD
    IMPORT_KEY = 0xFE
    SET_MANAGEMENT_KEY = 0xFF


class Slot(IntEnum):
    """Asymmetric key references (SP 800-73-4 Part 1 Table 4b)."""

    PIV_AUTHENTICATION = 0x9A
    DIGITAL_SIGNATURE = 0x9C
    KEY_MANAGEMENT = 0x9D
    CARD_AUTHENTICATION = 0x9E
    RETIRED_1 = 0x82
    RETIRED_2 = 0x83
    RETIRED_3 = 0x84
    RETIRED_4 = 0x85
    RETIRED_5 = 0x86
    RETIRED_6 = 0x87
    RETIRED_7 = 0x88
    RETIRED_8 = 0x89
    RETIRED_9 = 0x8A
    RETIRED_10 = 0x8B
    RETIRED_11 = 0x8C
    RETIRED_12 = 0x8D
    RETIRED_13 = 0x8E
    RETIRED_14 = 0x8F
    RETIRED_15 = 0x90
    RETIRED_16 = 0x91
    RETIRED_17 = 0x92
    RETIRED_18 = 0x93
    RETIRED_19 = 0x94
    RETIRED_20 = 0x95

    @property
    def certificate_tag(self) -> int:
        """The X.509 certificate container of this slot (SP 800-73-4 Part 1 Table 3)."""
        return CERTIFICATE_TAGS[self]


# SP 800-73-4 Part 1 Table 4b: 9B is the symmetric card management key.
MANAGEMENT_KEY_REF = 0x9B
# Yubico: F9 is the attestation key; it signs statements about keys generated on the card.
ATTESTATION_KEY_REF = 0xF9


class PinRef(IntEnum):
    """Authenticator references for VERIFY / CHANGE REFERENCE DATA (SP 800-73-4 Part 1 §3.1)."""

    GLOBAL_PIN = 0x00
    PIV_PIN = 0x80
    PUK = 0x81


class ManagementKeyAlgorithm(IntEnum):
    """Symmetric algorithms for the 9B key (SP 800-78-4 Table 6-2)."""

    TDES = 0x03
    AES128 = 0x08
    AES192 = 0x0A
    AES256 = 0x0C

    @property
    def key_length(self) -> int:
        return {0x03: 24, 0x08: 16, 0x0A: 24, 0x0C: 32}[self.value]

    @property
    def block_size(self) -> int:
        return 8 if self is ManagementKeyAlgorithm.TDES else 16


# SP 800-78-4 Table 6-2 keeps 00 as the legacy identifier of 3-key TDES; OpenSC maps it to 3DES.
TDES_LEGACY_ALGORITHM_ID = 0x00


class KeyAlgorithm(IntEnum):
    """Asymmetric algorithms the card generates and uses (SP 800-78-4 Table 6-2)."""

    RSA2048 = 0x07
    ECC_P256 = 0x11
    ECC_P384 = 0x14

    @property
    def is_rsa(self) -> bool:
        return self is KeyAlgorithm.RSA2048

    @property
    def is_ec(self) -> bool:
        return not self.is_rsa


class PinPolicy(IntEnum):
    """Yubico PIN policy for a key (GENERATE/IMPORT tag AA)."""

    DEFAULT = 0x00
    NEVER = 0x01
    ONCE = 0x02
    ALWAYS = 0x03


class TouchPolicy(IntEnum):
    """Yubico touch policy for a key (GENERATE/IMPORT tag AB); an emulated card has no button."""

    DEFAULT = 0x00
    NEVER = 0x01
    ALWAYS = 0x02
    CACHED = 0x03


class ObjectTag(IntEnum):
    """Data object tags for GET DATA / PUT DATA (SP 800-73-4 Part 1 Table 3; Yubico 5FFFxx)."""

    CARD_AUTHENTICATION_CERTIFICATE = 0x5FC101
    CHUID = 0x5FC102
    FINGERPRINTS = 0x5FC103
    PIV_AUTHENTICATION_CERTIFICATE = 0x5FC105
    SECURITY_OBJECT = 0x5FC106
    CARD_CAPABILITY_CONTAINER = 0x5FC107
    FACIAL_IMAGE = 0x5FC108
    PRINTED_INFORMATION = 0x5FC109
    DIGITAL_SIGNATURE_CERTIFICATE = 0x5FC10A
    KEY_MANAGEMENT_CERTIFICATE = 0x5FC10B
    KEY_HISTORY = 0x5FC10C
    IRIS_IMAGES = 0x5FC121
    SM_CERTIFICATE_SIGNER = 0x5FC122
    PAIRING_CODE_REFERENCE_DATA = 0x5FC123
    DISCOVERY = 0x7E
    BIOMETRIC_INFORMATION_TEMPLATES = 0x7F61
    YUBICO_ADMIN_DATA = 0x5FFF00
    YUBICO_ATTESTATION_CERTIFICATE = 0x5FFF01


# Retired key management certificates: 82 → 5FC10D … 95 → 5FC120 (SP 800-73-4 Part 1 Table 3).
CERTIFICATE_TAGS: dict[Slot, int] = {
    Slot.PIV_AUTHENTICATION: ObjectTag.PIV_AUTHENTICATION_CERTIFICATE,
    Slot.DIGITAL_SIGNATURE: ObjectTag.DIGITAL_SIGNATURE_CERTIFICATE,
    Slot.KEY_MANAGEMENT: ObjectTag.KEY_MANAGEMENT_CERTIFICATE,
    Slot.CARD_AUTHENTICATION: ObjectTag.CARD_AUTHENTICATION_CERTIFICATE,
    **{Slot(0x82 + n): 0x5FC10D + n for n in range(20)},
}

# Objects whose read needs the PIN (SP 800-73-4 Part 1 Table 3, "Access Rule for Read").
PIN_PROTECTED_OBJECTS = frozenset(
    {
        ObjectTag.FINGERPRINTS,
        ObjectTag.FACIAL_IMAGE,
        ObjectTag.PRINTED_INFORMATION,
        ObjectTag.IRIS_IMAGES,
    }
)

# Tags of the TLV that wraps an object's contents in GET/PUT DATA (SP 800-73-4 Part 1 §3.1.2).
DATA_OBJECT_WRAPPER = 0x53
DISCOVERY_WRAPPER = 0x7E  # the discovery object is its own template, not 53-wrapped
BIT_GROUP_WRAPPER = 0x7F61
TAG_LIST = 0x5C  # GET/PUT DATA: `5C L tag` names the object
