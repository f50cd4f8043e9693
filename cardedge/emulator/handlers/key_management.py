"""GENERATE ASYMMETRIC KEY PAIR (SP 800-73-4 Part 2 §3.3.2) and Yubico IMPORT KEY (FE).

Both need the management key authenticated (69 82 otherwise). GENERATE answers with the public
key in `7F49`: RSA `81` modulus then `82` exponent (libykpiv parses by position), ECC `86`
point. The new key replaces the slot's old one; the certificate container is the host's.
"""

from __future__ import annotations

from cardedge.apdu.errors import TlvError
from cardedge.apdu.status import StatusWord
from cardedge.apdu.tlv import decode_all, decode_single, encode_tlv, unique_map
from cardedge.emulator import key_operations
from cardedge.emulator.context import Command, CommandContext
from cardedge.emulator.errors import fail
from cardedge.emulator.state import KeyOrigin, StoredKey
from cardedge.piv.algorithms import PrivateKey, encode_public_key
from cardedge.piv.constants import KeyAlgorithm, PinPolicy, Slot, TouchPolicy

CONTROL_REFERENCE_TEMPLATE = 0xAC
ALGORITHM_TAG, PARAMETER_TAG = 0x80, 0x81
PIN_POLICY_TAG, TOUCH_POLICY_TAG = 0xAA, 0xAB  # Yubico
PUBLIC_KEY_TEMPLATE = 0x7F49
_IMPORT_KEY_TAGS = frozenset({0x01, 0x02, 0x03, 0x04, 0x05, 0x06, PIN_POLICY_TAG, TOUCH_POLICY_TAG})


def _slot(p2: int) -> Slot:
    if p2 not in Slot._value2member_map_:
        raise fail(StatusWord.INCORRECT_P1_P2)
    return Slot(p2)


def _policies(fields: dict[int, bytes]) -> tuple[PinPolicy, TouchPolicy]:
    try:
        pin = PinPolicy(_one_byte(fields.get(PIN_POLICY_TAG, b"\x00")))
        touch = TouchPolicy(_one_byte(fields.get(TOUCH_POLICY_TAG, b"\x00")))
    except ValueError:
        raise fail(StatusWord.INCORRECT_DATA) from None
    return pin, touch


def _one_byte(value: bytes) -> int:
    if len(value) != 1:
        raise fail(StatusWord.INCORRECT_DATA)
    return value[0]


def _algorithm(value: int) -> KeyAlgorithm:
    try:
        return KeyAlgorithm(value)
    except ValueError:
        raise fail(StatusWord.INCORRECT_DATA) from None


def handle_generate(ctx: CommandContext, command: Command) -> bytes:
    if command.p1 != 0x00:
        raise fail(StatusWord.INCORRECT_P1_P2)
    slot = _slot(command.p2)
    if not ctx.session.admin_authenticated:
        raise fail(StatusWord.SECURITY_STATUS_NOT_SATISFIED)
    try:
        fields = unique_map(decode_single(command.data, tag=CONTROL_REFERENCE_TEMPLATE).children())
    except TlvError:
        raise fail(StatusWord.INCORRECT_DATA) from None
    allowed = {ALGORITHM_TAG, PARAMETER_TAG, PIN_POLICY_TAG, TOUCH_POLICY_TAG}
    if ALGORITHM_TAG not in fields or not fields.keys() <= allowed:
        raise fail(StatusWord.INCORRECT_DATA)
    algorithm = _algorithm(_one_byte(fields[ALGORITHM_TAG]))
    pin_policy, touch_policy = _policies(fields)
    private_key = ctx.generate_key(algorithm)
    ctx.state.keys[slot] = StoredKey(
        algorithm=algorithm,
        private_key=private_key,
        origin=KeyOrigin.GENERATED,
        pin_policy=pin_policy,
        touch_policy=touch_policy,
    )
    ctx.changed()
    return encode_tlv(PUBLIC_KEY_TEMPLATE, encode_public_key(private_key.public_key()))


def handle_import_key(ctx: CommandContext, command: Command) -> bytes:
    algorithm = _algorithm(command.p1)
    slot = _slot(command.p2)
    if not ctx.session.admin_authenticated:
        raise fail(StatusWord.SECURITY_STATUS_NOT_SATISFIED)
    try:
        fields = unique_map(decode_all(command.data))
    except TlvError:
        raise fail(StatusWord.INCORRECT_DATA) from None
    if not fields.keys() <= _IMPORT_KEY_TAGS:
        raise fail(StatusWord.INCORRECT_DATA)
    pin_policy, touch_policy = _policies(fields)
    private_key: PrivateKey
    try:
        if algorithm.is_rsa:
            private_key = key_operations.import_rsa_key(algorithm, fields)
        else:
            private_key = key_operations.import_ec_key(algorithm, fields)
    except (ValueError, ArithmeticError):
        raise fail(StatusWord.INCORRECT_DATA) from None
    ctx.state.keys[slot] = StoredKey(
        algorithm=algorithm,
        private_key=private_key,
        origin=KeyOrigin.IMPORTED,
        pin_policy=pin_policy,
        touch_policy=touch_policy,
    )
    ctx.changed()
    return b""
