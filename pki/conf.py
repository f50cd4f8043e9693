"""The PKI's settings, read with the types the PKI relies on.

config/settings.py builds them from the environment, and django-stubs types them from that code,
some more widely than what they hold: `env_str(name, default)` is `str | None`, and the
PKI_KEY_BACKENDS literal mixes text and dicts. These readers check such a value once where it is
used and stop with ImproperlyConfigured naming the setting, instead of failing further on.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def required_setting(name: str, value: str | None) -> str:
    """`value`, the setting `name`, which must be set."""
    if value is None:
        msg = f"settings.{name} is not set (see .env.example)"
        raise ImproperlyConfigured(msg)
    return value


def default_key_backend_alias() -> str:
    return required_setting("PKI_DEFAULT_KEY_BACKEND", settings.PKI_DEFAULT_KEY_BACKEND)


def key_backend_settings() -> dict[str, Mapping[str, object]]:
    """settings.PKI_KEY_BACKENDS: alias -> {"BACKEND": dotted class path, "OPTIONS": {...}}."""
    configured: object = settings.PKI_KEY_BACKENDS
    if not isinstance(configured, Mapping):
        msg = "settings.PKI_KEY_BACKENDS must map each alias to {'BACKEND': ..., 'OPTIONS': ...}"
        raise ImproperlyConfigured(msg)
    entries: dict[str, Mapping[str, object]] = {}
    for alias, entry in configured.items():
        if not isinstance(entry, Mapping):
            msg = f"settings.PKI_KEY_BACKENDS[{alias!r}] must be a dict of BACKEND and OPTIONS"
            raise ImproperlyConfigured(msg)
        entries[str(alias)] = entry
    return entries


def attestation_roots_directory() -> Path | None:
    """settings.CARDFORGE_ATTESTATION_ROOTS: where the attestation roots' PEM files are."""
    configured: object = settings.CARDFORGE_ATTESTATION_ROOTS
    if configured is None or isinstance(configured, Path):
        return configured
    if isinstance(configured, str):
        return Path(configured)
    msg = "settings.CARDFORGE_ATTESTATION_ROOTS must be a directory path"
    raise ImproperlyConfigured(msg)
