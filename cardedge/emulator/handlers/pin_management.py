"""VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER (SP 800-73-4 Part 2 §§3.2.1-3.2.3).

Retry counters are decremented and saved before the card answers `63 CX`; at zero the
reference is blocked and every further try answers `69 83`. A malformed PIN (not 6-8 digits
padded with FF) is refused with `6A 80` without costing a try: it cannot match anyway.
"""

from __future__ import annotations

import hmac

from cardedge.apdu.status import StatusWord
from cardedge.emulator.context import Command, CommandContext
from cardedge.emulator.errors import CardStatus, fail, wrong_reference_data
from cardedge.emulator.state import ReferenceData
from cardedge.piv.constants import PinRef
from cardedge.piv.secrets import (
    REFERENCE_DATA_LENGTH,
    SecretBytes,
    is_valid_pin_block,
    is_valid_puk_block,
)

VERIFY_LOGOUT = 0xFF  # SP 800-73-4 Part 2 §3.2.1: P1 = FF resets the security status


def _check(ctx: CommandContext, reference: ReferenceData, presented: bytes) -> None:
    """Count the try, save, then compare; raises 63CX on a mismatch (69 83 once blocked).

    The try is counted and saved *before* the comparison, as cards do against tearing: if
    saving fails the card answers 65 81 having compared nothing, so a store that can be made to
    fail is no way around the retry counter.
    """
    if reference.blocked:
        raise fail(StatusWord.AUTHENTICATION_METHOD_BLOCKED)
    reference.retries_left -= 1
    ctx.save_now()
    if not hmac.compare_digest(reference.value.reveal(), presented):
        raise wrong_reference_data(reference.retries_left)
    reference.retries_left = reference.retry_limit
    ctx.changed()


def handle_verify(ctx: CommandContext, command: Command) -> bytes:
    if command.p1 not in (0x00, VERIFY_LOGOUT):
        raise fail(StatusWord.INCORRECT_P1_P2)
    if command.p2 != PinRef.PIV_PIN:
        raise fail(StatusWord.REFERENCED_DATA_NOT_FOUND)  # no global PIN, no OCC on this card
    pin = ctx.state.pin
    session = ctx.session
    if command.p1 == VERIFY_LOGOUT:
        if command.data:
            raise fail(StatusWord.INCORRECT_DATA)
        session.forget_pin()
        return b""
    if not command.data:
        # Status form (no data): 90 00 if verified this session, else the tries left.
        if pin.blocked:
            raise fail(StatusWord.AUTHENTICATION_METHOD_BLOCKED)
        if session.pin_verified:
            return b""
        raise wrong_reference_data(pin.retries_left)
    if pin.blocked:
        raise fail(StatusWord.AUTHENTICATION_METHOD_BLOCKED)
    if not is_valid_pin_block(command.data):
        raise fail(StatusWord.INCORRECT_DATA)
    try:
        _check(ctx, pin, command.data)
    except CardStatus:
        session.forget_pin()
        raise
    session.pin_verified = True
    session.pin_just_verified = True
    return b""


def handle_change_reference_data(ctx: CommandContext, command: Command) -> bytes:
    if command.p1 != 0x00:
        raise fail(StatusWord.INCORRECT_P1_P2)
    if command.p2 == PinRef.PIV_PIN:
        reference, valid = ctx.state.pin, is_valid_pin_block
    elif command.p2 == PinRef.PUK:
        reference, valid = ctx.state.puk, is_valid_puk_block
    else:
        raise fail(StatusWord.REFERENCED_DATA_NOT_FOUND)
    if reference.blocked:
        raise fail(StatusWord.AUTHENTICATION_METHOD_BLOCKED)
    if len(command.data) != 2 * REFERENCE_DATA_LENGTH:
        raise fail(StatusWord.INCORRECT_DATA)
    old, new = command.data[:REFERENCE_DATA_LENGTH], command.data[REFERENCE_DATA_LENGTH:]
    if not (valid(old) and valid(new)):
        raise fail(StatusWord.INCORRECT_DATA)
    _check(ctx, reference, old)
    reference.value = SecretBytes(new)
    reference.is_default = False
    ctx.changed()
    return b""


def handle_reset_retry_counter(ctx: CommandContext, command: Command) -> bytes:
    if command.p1 != 0x00:
        raise fail(StatusWord.INCORRECT_P1_P2)
    if command.p2 != PinRef.PIV_PIN:
        raise fail(StatusWord.REFERENCED_DATA_NOT_FOUND)  # only the PIN is reset with the PUK
    puk, pin = ctx.state.puk, ctx.state.pin
    if puk.blocked:
        raise fail(StatusWord.AUTHENTICATION_METHOD_BLOCKED)
    if len(command.data) != 2 * REFERENCE_DATA_LENGTH:
        raise fail(StatusWord.INCORRECT_DATA)
    presented, new_pin = command.data[:REFERENCE_DATA_LENGTH], command.data[REFERENCE_DATA_LENGTH:]
    if not (is_valid_puk_block(presented) and is_valid_pin_block(new_pin)):
        raise fail(StatusWord.INCORRECT_DATA)
    _check(ctx, puk, presented)
    pin.value = SecretBytes(new_pin)
    pin.retries_left = pin.retry_limit
    pin.is_default = False
    ctx.session.forget_pin()
    ctx.changed()
    return b""
