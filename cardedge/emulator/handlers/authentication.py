"""GENERAL AUTHENTICATE (SP 800-73-4 Part 2 §3.2.4; piv-brief §7).

The data field is a dynamic authentication template `7C { 80 witness, 81 challenge,
82 response, 85 exponentiation }`; an empty tag asks the card for that item.

Card management key (9B):
* mutual authentication: `{80 ∅}` → `{80 E(W)}`; then `{80 W, 81 C}` → `{82 E(C)}`
  and the management key is authenticated;
* external authentication: `{81 ∅}` → `{81 C}`; then `{82 E(C)}` → `90 00`;
* internal authentication: `{81 C, 82 ∅}` → `{82 E(C)}` (proves the card's key only).
OpenSC draws random numbers with `00 87 00 9B 04 7C 02 81 00` — P1 00 whatever the key's
algorithm — and must get `7C { 81 random }` back (piv-brief §11).

Asymmetric keys: `{82 ∅, 81 input}` signs (ECDSA) or runs raw RSA, `{82 ∅, 85 point}` is ECDH.
"""

from __future__ import annotations

import hmac

from cardedge.apdu.errors import TlvError
from cardedge.apdu.status import StatusWord
from cardedge.apdu.tlv import decode_single, encode_tlv, unique_map
from cardedge.emulator import key_operations
from cardedge.emulator.context import Command, CommandContext
from cardedge.emulator.errors import fail
from cardedge.emulator.session import ChallengeKind, PendingChallenge
from cardedge.emulator.state import DEFAULT_PIN_POLICIES
from cardedge.piv.algorithms import encrypt_block
from cardedge.piv.constants import (
    MANAGEMENT_KEY_REF,
    TDES_LEGACY_ALGORITHM_ID,
    ManagementKeyAlgorithm,
    PinPolicy,
    Slot,
)

TEMPLATE = 0x7C
WITNESS, CHALLENGE, RESPONSE, EXPONENTIATION = 0x80, 0x81, 0x82, 0x85
_TEMPLATE_TAGS = frozenset({WITNESS, CHALLENGE, RESPONSE, EXPONENTIATION})
RANDOM_LENGTH_FOR_OTHER_ALGORITHMS = 8


def _template(data: bytes) -> dict[int, bytes]:
    try:
        fields = unique_map(decode_single(data, tag=TEMPLATE).children())
    except TlvError:
        raise fail(StatusWord.INCORRECT_DATA) from None
    if not fields or not fields.keys() <= _TEMPLATE_TAGS:
        raise fail(StatusWord.INCORRECT_DATA)
    return fields


def _answer(tag: int, value: bytes) -> bytes:
    return encode_tlv(TEMPLATE, encode_tlv(tag, value))


def handle_general_authenticate(ctx: CommandContext, command: Command) -> bytes:
    fields = _template(command.data)
    if command.p2 == MANAGEMENT_KEY_REF:
        return _management_key(ctx, command.p1, fields)
    if command.p2 in Slot._value2member_map_:
        return _private_key(ctx, command.p1, Slot(command.p2), fields)
    raise fail(StatusWord.INCORRECT_P1_P2)


def _management_key(ctx: CommandContext, p1: int, fields: dict[int, bytes]) -> bytes:
    key = ctx.state.management_key
    algorithm = key.algorithm
    # SP 800-78-4 Table 6-2: 00 is the legacy identifier of 3-key TDES
    algorithm_matches = p1 == algorithm or (
        p1 == TDES_LEGACY_ALGORITHM_ID and algorithm is ManagementKeyAlgorithm.TDES
    )
    block = algorithm.block_size

    if fields == {CHALLENGE: b""}:  # external authentication step 1, or OpenSC's random source
        if not algorithm_matches:
            if p1 != TDES_LEGACY_ALGORITHM_ID:
                raise fail(StatusWord.INCORRECT_DATA)
            return _answer(CHALLENGE, ctx.random_bytes(RANDOM_LENGTH_FOR_OTHER_ALGORITHMS))
        challenge = ctx.random_bytes(block)
        ctx.session.challenge = PendingChallenge(ChallengeKind.CHALLENGE, algorithm, challenge)
        return _answer(CHALLENGE, challenge)

    if not algorithm_matches:
        raise fail(StatusWord.INCORRECT_DATA)
    secret = key.reveal()

    if fields == {WITNESS: b""}:  # mutual authentication step 1
        witness = ctx.random_bytes(block)
        ctx.session.challenge = PendingChallenge(ChallengeKind.WITNESS, algorithm, witness)
        # libykpiv reads the ciphertext at offset 4: exactly 7C 0A 80 08 … / 7C 12 80 10 …
        return _answer(WITNESS, encrypt_block(algorithm, secret, witness))

    if fields.keys() == {WITNESS, CHALLENGE} and fields[WITNESS]:  # mutual step 2
        pending = ctx.challenge
        if pending is None or pending.kind is not ChallengeKind.WITNESS:
            raise fail(StatusWord.SECURITY_STATUS_NOT_SATISFIED)
        if len(fields[WITNESS]) != block or len(fields[CHALLENGE]) != block:
            raise fail(StatusWord.INCORRECT_DATA)
        if not hmac.compare_digest(fields[WITNESS], pending.value):
            ctx.session.admin_authenticated = False
            raise fail(StatusWord.SECURITY_STATUS_NOT_SATISFIED)
        ctx.session.admin_authenticated = True
        return _answer(RESPONSE, encrypt_block(algorithm, secret, fields[CHALLENGE]))

    if fields.keys() == {RESPONSE} and fields[RESPONSE]:  # external authentication step 2
        pending = ctx.challenge
        if pending is None or pending.kind is not ChallengeKind.CHALLENGE:
            raise fail(StatusWord.SECURITY_STATUS_NOT_SATISFIED)
        if len(fields[RESPONSE]) != block:
            raise fail(StatusWord.INCORRECT_DATA)
        expected = encrypt_block(algorithm, secret, pending.value)
        if not hmac.compare_digest(fields[RESPONSE], expected):
            ctx.session.admin_authenticated = False
            raise fail(StatusWord.SECURITY_STATUS_NOT_SATISFIED)
        ctx.session.admin_authenticated = True
        return b""

    if fields.keys() == {CHALLENGE, RESPONSE} and fields[CHALLENGE] and not fields[RESPONSE]:
        if len(fields[CHALLENGE]) != block:  # internal authentication with the symmetric key
            raise fail(StatusWord.INCORRECT_DATA)
        return _answer(RESPONSE, encrypt_block(algorithm, secret, fields[CHALLENGE]))

    raise fail(StatusWord.INCORRECT_DATA)


def _require_pin(ctx: CommandContext, slot: Slot, policy: PinPolicy) -> None:
    """Key access rules (SP 800-73-4 Part 1 §3.2): ONCE needs the PIN verified this session;
    ALWAYS (9C) needs a VERIFY since the key's last use, and this use consumes it."""
    if policy is PinPolicy.DEFAULT:
        policy = DEFAULT_PIN_POLICIES[slot]
    session = ctx.session
    if policy in (PinPolicy.ONCE, PinPolicy.ALWAYS) and not session.pin_verified:
        raise fail(StatusWord.SECURITY_STATUS_NOT_SATISFIED)
    if policy is PinPolicy.ALWAYS:
        if not session.pin_just_verified:
            raise fail(StatusWord.SECURITY_STATUS_NOT_SATISFIED)
        session.pin_just_verified = False


def _private_key(ctx: CommandContext, p1: int, slot: Slot, fields: dict[int, bytes]) -> bytes:
    stored = ctx.state.keys.get(slot)
    if stored is None:
        raise fail(StatusWord.REFERENCED_DATA_NOT_FOUND)
    if p1 != stored.algorithm:
        raise fail(StatusWord.INCORRECT_DATA)
    if fields.keys() == {RESPONSE, CHALLENGE} and not fields[RESPONSE] and fields[CHALLENGE]:
        operation, data = "sign", fields[CHALLENGE]
    elif fields.keys() == {RESPONSE, EXPONENTIATION} and not fields[RESPONSE]:
        operation, data = "ecdh", fields[EXPONENTIATION]
        if stored.algorithm.is_rsa:
            raise fail(StatusWord.INCORRECT_DATA)
    else:
        raise fail(StatusWord.INCORRECT_DATA)
    _require_pin(ctx, slot, stored.pin_policy)
    try:
        if operation == "sign":
            result = key_operations.private_operation(stored.algorithm, stored.private_key, data)
        else:
            result = key_operations.ecdh_shared_secret(stored.private_key, data)  # type: ignore[arg-type]
    except ValueError:
        raise fail(StatusWord.INCORRECT_DATA) from None
    return _answer(RESPONSE, result)
