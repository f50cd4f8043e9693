"""Yubico PIV extensions (https://developers.yubico.com/PIV/Introduction/Yubico_extensions.html).

OpenSC and yubico-piv-tool send GET VERSION (FD) to any PIV card; yubico-piv-tool ≥ 2.3.1 fails
to connect without it, and reads GET METADATA (F7) to learn the management key's algorithm.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.serialization import Encoding

from cardedge.apdu.status import StatusWord
from cardedge.apdu.tlv import encode_tlv
from cardedge.emulator.attestation import attest
from cardedge.emulator.context import Command, CommandContext
from cardedge.emulator.errors import fail
from cardedge.emulator.state import DEFAULT_PIN_POLICIES, KeyOrigin, ReferenceData
from cardedge.piv.algorithms import encode_public_key
from cardedge.piv.constants import (
    ATTESTATION_KEY_REF,
    MANAGEMENT_KEY_REF,
    ManagementKeyAlgorithm,
    PinPolicy,
    PinRef,
    Slot,
    TouchPolicy,
)
from cardedge.piv.secrets import ManagementKey

# GET METADATA tags
ALGORITHM, POLICY, ORIGIN, PUBLIC_KEY, IS_DEFAULT, RETRIES = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06
PIN_ALGORITHM = 0xFF  # PIN and PUK report "algorithm" FF
SET_MANAGEMENT_KEY_P1 = 0xFF
TOUCH_NOT_REQUIRED, TOUCH_REQUIRED = 0xFF, 0xFE


def _no_parameters(command: Command) -> None:
    if (command.p1, command.p2) != (0x00, 0x00):
        raise fail(StatusWord.INCORRECT_P1_P2)


def handle_get_version(ctx: CommandContext, command: Command) -> bytes:
    _no_parameters(command)
    return bytes(ctx.state.version)


def handle_get_serial(ctx: CommandContext, command: Command) -> bytes:
    _no_parameters(command)
    return ctx.state.serial.to_bytes(4, "big")


def _reference_metadata(reference: ReferenceData) -> bytes:
    return b"".join(
        [
            encode_tlv(ALGORITHM, bytes([PIN_ALGORITHM])),
            encode_tlv(IS_DEFAULT, bytes([reference.is_default])),
            encode_tlv(RETRIES, bytes([reference.retry_limit, reference.retries_left])),
        ]
    )


def handle_get_metadata(ctx: CommandContext, command: Command) -> bytes:
    if command.p1 != 0x00:
        raise fail(StatusWord.INCORRECT_P1_P2)
    state = ctx.state
    reference = command.p2
    if reference == PinRef.PIV_PIN:
        return _reference_metadata(state.pin)
    if reference == PinRef.PUK:
        return _reference_metadata(state.puk)
    if reference == MANAGEMENT_KEY_REF:
        return b"".join(
            [
                encode_tlv(ALGORITHM, bytes([state.management_key.algorithm])),
                encode_tlv(POLICY, bytes([PinPolicy.NEVER, TouchPolicy.NEVER])),
                encode_tlv(IS_DEFAULT, bytes([state.management_key_is_default])),
            ]
        )
    if reference == ATTESTATION_KEY_REF:
        return b"".join(
            [
                encode_tlv(ALGORITHM, bytes([0x11])),
                encode_tlv(POLICY, bytes([PinPolicy.NEVER, TouchPolicy.NEVER])),
                encode_tlv(ORIGIN, bytes([KeyOrigin.IMPORTED])),
                encode_tlv(PUBLIC_KEY, encode_public_key(state.attestation_key.public_key())),
            ]
        )
    if reference not in Slot._value2member_map_:
        raise fail(StatusWord.INCORRECT_P1_P2)
    slot = Slot(reference)
    stored = state.keys.get(slot)
    if stored is None:
        raise fail(StatusWord.REFERENCED_DATA_NOT_FOUND)
    pin_policy = stored.pin_policy or DEFAULT_PIN_POLICIES[slot]
    touch_policy = stored.touch_policy or TouchPolicy.NEVER
    return b"".join(
        [
            encode_tlv(ALGORITHM, bytes([stored.algorithm])),
            encode_tlv(POLICY, bytes([pin_policy, touch_policy])),
            encode_tlv(ORIGIN, bytes([stored.origin])),
            encode_tlv(PUBLIC_KEY, encode_public_key(stored.private_key.public_key())),
        ]
    )


def handle_set_management_key(ctx: CommandContext, command: Command) -> bytes:
    """`00 FF FF FF|FE  <alg> 9B <len> <key>`; needs the current management key."""
    if command.p1 != SET_MANAGEMENT_KEY_P1 or command.p2 not in (
        TOUCH_NOT_REQUIRED,
        TOUCH_REQUIRED,
    ):
        raise fail(StatusWord.INCORRECT_P1_P2)
    if not ctx.session.admin_authenticated:
        raise fail(StatusWord.SECURITY_STATUS_NOT_SATISFIED)
    data = command.data
    if len(data) < 3 or data[1] != MANAGEMENT_KEY_REF or data[2] != len(data) - 3:
        raise fail(StatusWord.INCORRECT_DATA)
    try:
        algorithm_id = ManagementKeyAlgorithm.TDES if data[0] == 0x00 else data[0]
        new_key = ManagementKey(ManagementKeyAlgorithm(algorithm_id), data[3:])
    except ValueError:
        raise fail(StatusWord.INCORRECT_DATA) from None
    ctx.state.management_key = new_key
    ctx.state.management_key_is_default = new_key == ctx.state.factory.management_key
    ctx.changed()
    return b""


def handle_set_pin_retries(ctx: CommandContext, command: Command) -> bytes:
    """`00 FA <PIN tries> <PUK tries>`: needs management key and PIN; PIN and PUK go back to
    the factory values with the new limits."""
    if command.p1 == 0 or command.p2 == 0:
        raise fail(StatusWord.INCORRECT_P1_P2)
    session = ctx.session
    if not (session.admin_authenticated and session.pin_verified):
        raise fail(StatusWord.SECURITY_STATUS_NOT_SATISFIED)
    ctx.state.reset_pin_and_puk(command.p1, command.p2)
    session.forget_pin()
    ctx.changed()
    return b""


def handle_reset(ctx: CommandContext, command: Command) -> bytes:
    """`00 FB 00 00`: back to factory state, allowed only once PIN and PUK are both blocked."""
    _no_parameters(command)
    state = ctx.state
    if not (state.pin.blocked and state.puk.blocked):
        raise fail(StatusWord.CONDITIONS_OF_USE_NOT_SATISFIED)
    state.reset_to_factory()
    ctx.session.reset_security_status()
    ctx.changed()
    return b""


def handle_attest(ctx: CommandContext, command: Command) -> bytes:
    """`00 F9 <slot> 00`: an attestation certificate for a key generated on the card."""
    if command.p2 != 0x00 or command.p1 not in Slot._value2member_map_:
        raise fail(StatusWord.INCORRECT_P1_P2)
    slot = Slot(command.p1)
    stored = ctx.state.keys.get(slot)
    if stored is None:
        raise fail(StatusWord.REFERENCED_DATA_NOT_FOUND)
    if stored.origin is not KeyOrigin.GENERATED:
        raise fail(StatusWord.INCORRECT_DATA)  # an imported key cannot be vouched for
    certificate = attest(
        authority_key=ctx.state.attestation_key,
        authority_certificate=ctx.state.attestation_certificate,
        slot=slot,
        public_key=stored.private_key.public_key(),
        serial=ctx.state.serial,
        version=ctx.state.version,
        pin_policy=stored.pin_policy or DEFAULT_PIN_POLICIES[slot],
        touch_policy=stored.touch_policy or TouchPolicy.NEVER,
    )
    return certificate.public_bytes(Encoding.DER)
