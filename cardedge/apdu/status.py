"""ISO/IEC 7816-4 status words (§5.1.3) with their names, and the families that carry a number.

`61xx` (more data) and `63Cx` (verification failed, x tries left) carry a count in SW2, so they
are recognised by helpers rather than listed one by one.
"""

from __future__ import annotations

from enum import IntEnum


class StatusWord(IntEnum):
    SUCCESS = 0x9000
    MEMORY_FAILURE = 0x6581
    WRONG_LENGTH = 0x6700
    LOGICAL_CHANNEL_NOT_SUPPORTED = 0x6881
    SECURE_MESSAGING_NOT_SUPPORTED = 0x6882
    LAST_COMMAND_OF_CHAIN_EXPECTED = 0x6883
    COMMAND_CHAINING_NOT_SUPPORTED = 0x6884
    SECURITY_STATUS_NOT_SATISFIED = 0x6982
    AUTHENTICATION_METHOD_BLOCKED = 0x6983
    REFERENCE_DATA_NOT_USABLE = 0x6984
    CONDITIONS_OF_USE_NOT_SATISFIED = 0x6985
    INCORRECT_DATA = 0x6A80
    FUNCTION_NOT_SUPPORTED = 0x6A81
    NOT_FOUND = 0x6A82
    NOT_ENOUGH_MEMORY = 0x6A84
    INCORRECT_P1_P2 = 0x6A86
    REFERENCED_DATA_NOT_FOUND = 0x6A88
    WRONG_P1_P2 = 0x6B00
    INS_NOT_SUPPORTED = 0x6D00
    CLA_NOT_SUPPORTED = 0x6E00
    NO_PRECISE_DIAGNOSIS = 0x6F00


_DESCRIPTIONS = {
    StatusWord.SUCCESS: "success",
    StatusWord.MEMORY_FAILURE: "memory failure",
    StatusWord.WRONG_LENGTH: "wrong length",
    StatusWord.LOGICAL_CHANNEL_NOT_SUPPORTED: "logical channel not supported",
    StatusWord.SECURE_MESSAGING_NOT_SUPPORTED: "secure messaging not supported",
    StatusWord.LAST_COMMAND_OF_CHAIN_EXPECTED: "last command of the chain expected",
    StatusWord.COMMAND_CHAINING_NOT_SUPPORTED: "command chaining not supported",
    StatusWord.SECURITY_STATUS_NOT_SATISFIED: "security status not satisfied",
    StatusWord.AUTHENTICATION_METHOD_BLOCKED: "authentication method blocked",
    StatusWord.REFERENCE_DATA_NOT_USABLE: "reference data not usable",
    StatusWord.CONDITIONS_OF_USE_NOT_SATISFIED: "conditions of use not satisfied",
    StatusWord.INCORRECT_DATA: "incorrect parameters in the command data field",
    StatusWord.FUNCTION_NOT_SUPPORTED: "function not supported",
    StatusWord.NOT_FOUND: "file, data object or application not found",
    StatusWord.NOT_ENOUGH_MEMORY: "not enough memory space",
    StatusWord.INCORRECT_P1_P2: "incorrect parameters P1-P2",
    StatusWord.REFERENCED_DATA_NOT_FOUND: "referenced data or reference data not found",
    StatusWord.WRONG_P1_P2: "wrong parameters P1-P2",
    StatusWord.INS_NOT_SUPPORTED: "instruction code not supported",
    StatusWord.CLA_NOT_SUPPORTED: "class not supported",
    StatusWord.NO_PRECISE_DIAGNOSIS: "no precise diagnosis",
}

# ISO/IEC 7816-4 §5.1.3: SW1 is 61-6F (processing or error) or 9X; 60 is a T=0 procedure byte.
_VALID_SW1 = frozenset([*range(0x61, 0x70), *range(0x90, 0xA0)]) - {0x60}


def more_data_available(sw: int) -> int | None:
    """For `61xx`, the number of bytes GET RESPONSE can fetch (`6100` means 256 or more)."""
    if sw >> 8 != 0x61:
        return None
    return (sw & 0xFF) or 256


def retries_left(sw: int) -> int | None:
    """For `63Cx` (ISO/IEC 7816-4 §5.1.3, SP 800-73-4 §3.2.1), the tries left; else None."""
    if sw & 0xFFF0 != 0x63C0:
        return None
    return sw & 0x0F


def correct_le(sw: int) -> int | None:
    """For `6Cxx` (wrong Le), the exact length the card will return (`6C00` means 256)."""
    if sw >> 8 != 0x6C:
        return None
    return (sw & 0xFF) or 256


def is_valid_status_word(sw: int) -> bool:
    return 0 <= sw <= 0xFFFF and (sw >> 8) in _VALID_SW1


def describe(sw: int) -> str:
    """A status word with its meaning: `6A82 file, data object or application not found`,
    `63C2 verification failed, 2 tries left`."""
    if (count := more_data_available(sw)) is not None:
        text = f"{count} more bytes available"
    elif (tries := retries_left(sw)) is not None:
        text = f"verification failed, {tries} {'try' if tries == 1 else 'tries'} left"
    elif (length := correct_le(sw)) is not None:
        text = f"wrong Le, {length} bytes available"
    else:
        try:
            text = _DESCRIPTIONS[StatusWord(sw)]
        except ValueError:
            text = "unknown status"
    return f"{sw:04X} {text}"
