"""The environment, read once and typed.

Every setting CardForge takes from its environment goes through these readers so that a wrong
value stops the process at start-up with a message naming the variable. A `.env` file in the
project directory (written by `make run` / `make test`, never committed) is read first; real
environment variables win over it. Its values are kept here, never copied into os.environ:
runserver copies the environment into every request's META and child processes inherit it, so
a KEK from .env would show on the DEBUG error page. A child Django process reads .env itself.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_INLINE_COMMENT = re.compile(r"(?:^|\s+)#")
_FALSE = {"0", "false", "no", "off", ""}
# KEY=value pairs of the .env file, consulted after os.environ by every reader below.
_dotenv: dict[str, str] = {}
# The signer's own secrets (docs/signer.md), from the file only the signer's process names in
# CARDFORGE_SIGNER_SECRETS_FILE: consulted before .env, and only for these names.
SIGNER_SECRET_NAMES = frozenset(
    {
        "CARDFORGE_KEK",
        "CARDFORGE_KEK_FILE",
        "CARDFORGE_PKCS11_PIN",
        "CARDFORGE_PKCS11_PIN_FILE",
    }
)
_signer_secrets: dict[str, str] = {}


def _pairs(path: Path):
    """`(line number, KEY, value)` of each `KEY=value` line of `path`."""
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip().isidentifier():
            msg = f"{path.name} line {number}: expected KEY=value"
            raise ImproperlyConfigured(msg)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        else:
            value = _INLINE_COMMENT.split(value, maxsplit=1)[0]  # `KEY=value   # note`
        yield number, key.strip(), value


def load_dotenv(path: Path) -> None:
    """Read `KEY=value` lines of `path` for the readers below (the environment wins over them);
    os.environ is left as it is."""
    if not path.is_file():
        return
    for _, key, value in _pairs(path):
        _dotenv.setdefault(key, value)  # the first line for a name wins


def load_signer_secrets(path: Path) -> None:
    """Read the signer's secrets file (`KEY=value` lines naming only SIGNER_SECRET_NAMES): the
    KEK or the HSM PIN that no other process has (docs/signer.md)."""
    if not path.is_file():
        msg = f"CARDFORGE_SIGNER_SECRETS_FILE: {path} is not a readable file"
        raise ImproperlyConfigured(msg)
    for number, key, value in _pairs(path):
        if key not in SIGNER_SECRET_NAMES:
            msg = (
                f"{path.name} line {number}: {key} is not one of the signer's secrets "
                f"({', '.join(sorted(SIGNER_SECRET_NAMES))})"
            )
            raise ImproperlyConfigured(msg)
        _signer_secrets.setdefault(key, value)


def signer_secrets_present() -> list[str]:
    """The names of the signer's secrets this process can read, wherever from."""
    return sorted(name for name in SIGNER_SECRET_NAMES if _get(name))


def _get(name: str) -> str | None:
    """The variable from the environment, else from the signer's secrets file (for its names),
    else from .env, else None."""
    value = os.environ.get(name)
    if value is not None:
        return value
    if name in _signer_secrets:
        return _signer_secrets[name]
    return _dotenv.get(name)


def env_str(name: str, default: str | None = None) -> str | None:
    """The variable's text; unset and empty are the same (as .env.example leaves them)."""
    value = _get(name)
    return value or default


def env_secret(name: str) -> str | None:
    """A secret from `NAME`, or from the file named by `NAME_FILE` (as Docker secrets are given)."""
    value = _get(name)
    file_name = _get(f"{name}_FILE")
    if value and file_name:
        msg = f"set {name} or {name}_FILE, not both"
        raise ImproperlyConfigured(msg)
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            msg = f"{name}_FILE: cannot read {file_name} ({exc.strerror})"
            raise ImproperlyConfigured(msg) from None
    return value or None


def env_bool(name: str, *, default: bool) -> bool:
    value = _get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    msg = f"{name} must be a boolean (1/0, true/false, yes/no, on/off), not {value!r}"
    raise ImproperlyConfigured(msg)


def env_int(name: str, *, default: int, minimum: int | None = None) -> int:
    value = _get(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value)
    except ValueError:
        msg = f"{name} must be an integer, not {value!r}"
        raise ImproperlyConfigured(msg) from None
    if minimum is not None and number < minimum:
        msg = f"{name} must be at least {minimum}, not {number}"
        raise ImproperlyConfigured(msg)
    return number


def env_list(name: str, *, default: list[str]) -> list[str]:
    value = _get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


@dataclass(frozen=True)
class DatabaseURL:
    """`sqlite:///relative/or//absolute/path` or `postgres://user:password@host:port/name`."""

    settings: dict

    @classmethod
    def parse(cls, url: str, *, base_dir: Path) -> DatabaseURL:
        parts = urlsplit(url)
        if parts.scheme == "sqlite":
            raw_path = unquote(parts.path)
            if raw_path in {"", "/"}:
                msg = "DATABASE_URL: sqlite URL needs a file path, e.g. sqlite:///var/cardforge.sqlite3"
                raise ImproperlyConfigured(msg)
            # sqlite:///var/db.sqlite3 is relative to the project, sqlite:////abs/db is absolute.
            path = Path(raw_path[1:]) if raw_path.startswith("/") else Path(raw_path)
            if not path.is_absolute():
                path = base_dir / path
            return cls(sqlite_settings(path))
        if parts.scheme in {"postgres", "postgresql", "pgsql"}:
            name = unquote(parts.path.lstrip("/"))
            if not name:
                msg = "DATABASE_URL: PostgreSQL URL needs a database name after the host"
                raise ImproperlyConfigured(msg)
            options = postgres_options(parse_qs(parts.query))
            return cls(
                {
                    "ENGINE": "django.db.backends.postgresql",
                    "NAME": name,
                    "USER": unquote(parts.username or ""),
                    "PASSWORD": unquote(parts.password or ""),
                    "HOST": parts.hostname or "",
                    "PORT": str(parts.port or ""),
                    "CONN_MAX_AGE": 60,
                    "OPTIONS": options,
                }
            )
        msg = f"DATABASE_URL: unsupported scheme {parts.scheme!r} (use sqlite or postgres)"
        raise ImproperlyConfigured(msg)


def postgres_options(query: dict[str, list[str]]) -> dict:
    """A PostgreSQL URL's query as OPTIONS: libpq's parameters (sslmode, connect_timeout, ...)
    stay text; those of Django's backend and psycopg get their types, since Django reads them
    by type and would silently ignore `server_side_binding=1` or take `pool=false` as on."""
    options: dict = {}
    for key, values in query.items():
        value = values[-1]
        where = f"DATABASE_URL: option {key}"
        if key in {"server_side_binding", "pool"}:
            lowered = value.strip().lower()
            if lowered not in _TRUE | _FALSE:
                msg = f"{where} must be a boolean (1/0, true/false, yes/no, on/off), not {value!r}"
                raise ImproperlyConfigured(msg)
            options[key] = lowered in _TRUE
        elif key == "isolation_level":
            from psycopg import IsolationLevel

            name = re.sub(r"[\s_-]+", "_", value.strip()).upper()
            if name not in IsolationLevel.__members__:
                levels = ", ".join(level.name.lower().replace("_", " ") for level in IsolationLevel)
                msg = f"{where} must be one of {levels}, not {value!r}"
                raise ImproperlyConfigured(msg)
            options[key] = IsolationLevel[name]
        elif key == "prepare_threshold":
            if value.strip().lower() == "none":
                options[key] = None  # never prepare
            elif value.strip().isdigit():
                options[key] = int(value)
            else:
                msg = f"{where} must be a whole number of executions or none, not {value!r}"
                raise ImproperlyConfigured(msg)
        else:
            options[key] = value
    return options


def sqlite_settings(path: Path) -> dict:
    return {
        "ENGINE": "config.sqlite_backend",
        "NAME": str(path),
        "CONN_MAX_AGE": 60,  # opening SQLite per request costs more than the query
        "OPTIONS": {
            # Writers take the lock when their transaction begins, so two audit writers queue
            # instead of both reading the same chain head (see audit/services.py).
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }


class Secret:
    """A secret read from the environment whose repr and str never show it (THREATS.md).

    Settings, tracebacks and Django's debug page print settings with repr(); a key or a PIN held
    in a Secret shows as `Secret('********')`. Only the code that needs the value calls `reveal()`.
    """

    __slots__ = ("_value",)

    def __init__(self, value: bytes | str):
        self._value = value

    def reveal(self) -> bytes | str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __reduce__(self):
        msg = "a Secret cannot be pickled"
        raise TypeError(msg)


def env_key(name: str, *, length: int) -> Secret | None:
    """A base64-encoded key of exactly `length` bytes from `NAME` or `NAME_FILE`, or None."""
    import base64
    import binascii

    value = env_secret(name)
    if value is None:
        return None
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        msg = f"{name} must be base64 (e.g. `openssl rand -base64 {length}`)"
        raise ImproperlyConfigured(msg) from None
    if len(raw) != length:
        msg = f"{name} must decode to {length} bytes, not {len(raw)}"
        raise ImproperlyConfigured(msg)
    return Secret(raw)


def env_http_url(name: str, default: str) -> str:
    """An absolute http(s) URL without a trailing slash."""
    value = (env_str(name) or default).strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        msg = f"{name} must be an absolute http:// or https:// URL, not {value!r}"
        raise ImproperlyConfigured(msg)
    return value
