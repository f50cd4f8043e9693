"""Path converters shared by every app's URLs (registered in config/urls.py)."""

from __future__ import annotations

ID_MAX = 2**63 - 1  # BigAutoField's range: larger ids overflow SQLite and PostgreSQL bigint


class IdConverter:
    """A primary key in a path: 1 to 19 digits within BigAutoField's range, else no match (404).

    `<int:pk>` matches any number of digits, so /jobs/10**30/ reached the database and failed
    with an OverflowError (SQLite) or NumericValueOutOfRange (PostgreSQL): a 500."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > ID_MAX:
            raise ValueError(value)  # Django: the pattern does not match
        return number

    def to_url(self, value: int) -> str:
        return str(int(value))


def parse_id(text: str | None) -> int | None:
    """An id from a query string, or None when it is not one (empty, not ASCII digits, beyond
    BigAutoField). `str.isdigit()` is not enough: it accepts "²", which int() refuses."""
    if not text or not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    number = int(text)
    return number if number <= ID_MAX else None
