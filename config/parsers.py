"""The API's JSON parser: DRF's, with the limits a public endpoint needs.

DRF's parser reads a body of any size and lets `json` recurse as deep as the body nests, so
100,000 nested brackets end in a RecursionError (a 500) and integers of any size reach the ORM
(an OverflowError on SQLite, "out of range" on PostgreSQL). This parser refuses, with a
`parse_error` in the API's error shape (config/api.py):

- a body larger than DATA_UPLOAD_MAX_MEMORY_SIZE (Django applies it to forms only);
- nesting deeper than MAX_DEPTH (no API input nests more than a few levels);
- integers outside the signed 64-bit range of a BigAutoField, the widest number any field stores.
"""

from __future__ import annotations

import json

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils.json import strict_constant

MAX_DEPTH = 32
INTEGER_MAX = 2**63 - 1


def _parse_int(text: str) -> int:
    # The digits' count bounds the work before int() (CPython's int-to-str limit is 4300 digits).
    if len(text.lstrip("-")) > 19 or not -INTEGER_MAX - 1 <= (number := int(text)) <= INTEGER_MAX:
        shown = text if len(text) <= 24 else f"{text[:24]}…"
        msg = f"JSON parse error - the number {shown} is out of range"
        raise ParseError(msg)
    return number


def _depth_exceeds(value, limit: int) -> bool:
    """Whether `value` nests containers deeper than `limit`, without recursing."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend(
                (child, depth + 1) for child in item.values() if isinstance(child, dict | list)
            )
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item if isinstance(child, dict | list))
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(raw) > limit:
            msg = f"JSON parse error - the body is larger than {limit} bytes"
            raise ParseError(msg)
        encoding = (parser_context or {}).get("encoding") or settings.DEFAULT_CHARSET
        try:
            text = raw.decode(encoding)
            data = json.loads(
                text,
                parse_int=_parse_int,
                parse_constant=strict_constant if self.strict else None,
            )
        except RecursionError:
            data = None
            deep = True
        except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError included
            raise ParseError(f"JSON parse error - {exc}") from None
        else:
            deep = _depth_exceeds(data, MAX_DEPTH)
        if deep:
            msg = f"JSON parse error - the body is nested deeper than {MAX_DEPTH} levels"
            raise ParseError(msg)
        return data
