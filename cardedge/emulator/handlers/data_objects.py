"""GET DATA and PUT DATA (SP 800-73-4 Part 2 §§3.1.2, 3.3.2)."""

from __future__ import annotations

from cardedge.apdu.errors import TlvError
from cardedge.apdu.status import StatusWord
from cardedge.apdu.tlv import decode_one, decode_single
from cardedge.emulator.context import Command, CommandContext
from cardedge.emulator.errors import fail
from cardedge.piv.constants import (
    BIT_GROUP_WRAPPER,
    DATA_OBJECT_WRAPPER,
    DISCOVERY_WRAPPER,
    PIN_PROTECTED_OBJECTS,
    TAG_LIST,
    ObjectTag,
)

OBJECT_P1P2 = (0x3F, 0xFF)
MAX_OBJECT_SIZE = 16 * 1024  # the spec's largest container (facial image) is about 12 KB
CARD_CAPACITY = 256 * 1024

_PIV_CONTAINERS = range(0x5FC101, 0x5FC123 + 1)
_YUBICO_OBJECTS = range(0x5FFF00, 0x5FFF15 + 1)


def is_known_object(tag: int) -> bool:
    return (
        tag in _PIV_CONTAINERS
        or tag in _YUBICO_OBJECTS
        or tag in (ObjectTag.DISCOVERY, ObjectTag.BIOMETRIC_INFORMATION_TEMPLATES)
    )


def wrapper_for(tag: int) -> int:
    """The discovery object and the BIT group template are their own TLVs; the rest are 53."""
    if tag == ObjectTag.DISCOVERY:
        return DISCOVERY_WRAPPER
    if tag == ObjectTag.BIOMETRIC_INFORMATION_TEMPLATES:
        return BIT_GROUP_WRAPPER
    return DATA_OBJECT_WRAPPER


def _object_tag(tag_list: bytes) -> int:
    if not 1 <= len(tag_list) <= 3:
        raise fail(StatusWord.INCORRECT_DATA)
    return int.from_bytes(tag_list, "big")


def handle_get_data(ctx: CommandContext, command: Command) -> bytes:
    if (command.p1, command.p2) != OBJECT_P1P2:
        raise fail(StatusWord.INCORRECT_P1_P2)
    try:
        tag = _object_tag(decode_single(command.data, tag=TAG_LIST).value)
    except TlvError:
        raise fail(StatusWord.INCORRECT_DATA) from None
    if tag in PIN_PROTECTED_OBJECTS and not ctx.session.pin_verified:
        raise fail(StatusWord.SECURITY_STATUS_NOT_SATISFIED)
    value = ctx.state.objects.get(tag)
    if value is None:
        raise fail(StatusWord.NOT_FOUND)
    return value


def handle_put_data(ctx: CommandContext, command: Command) -> bytes:
    if (command.p1, command.p2) != OBJECT_P1P2:
        raise fail(StatusWord.INCORRECT_P1_P2)
    if not ctx.session.admin_authenticated:
        raise fail(StatusWord.SECURITY_STATUS_NOT_SATISFIED)
    try:
        tag_list, offset = decode_one(command.data)
        if tag_list.tag != TAG_LIST:
            raise fail(StatusWord.INCORRECT_DATA)
        tag = _object_tag(tag_list.value)
        encoded = command.data[offset:]
        item = decode_single(encoded)
    except TlvError:
        raise fail(StatusWord.INCORRECT_DATA) from None
    if not is_known_object(tag) or item.tag != wrapper_for(tag):
        raise fail(StatusWord.INCORRECT_DATA)
    objects = ctx.state.objects
    if not item.value:  # an empty object deletes it (libykpiv's delete-certificate)
        if objects.pop(tag, None) is not None:
            ctx.changed()
        return b""
    if len(encoded) > MAX_OBJECT_SIZE:
        raise fail(StatusWord.NOT_ENOUGH_MEMORY)
    if ctx.state.object_bytes() - len(objects.get(tag, b"")) + len(encoded) > CARD_CAPACITY:
        raise fail(StatusWord.NOT_ENOUGH_MEMORY)
    objects[tag] = bytes(encoded)
    ctx.changed()
    return b""
