"""Key backends by alias, configured like Django's CACHES:

    PKI_KEY_BACKENDS = {
        "software": {"BACKEND": "pki.key_backends.software.SoftwareKeyBackend", "OPTIONS": {}},
        "pkcs11": {"BACKEND": "pki.key_backends.pkcs11.Pkcs11KeyBackend",
                   "OPTIONS": {"module": "...", "token_label": "...", "user_pin": "..."}},
    }

`key_backend(alias)` returns the one instance of this process for an alias.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from pki.conf import default_key_backend_alias, key_backend_settings
from pki.key_backends.base import (
    CARD_MANAGEMENT_MASTER_LABEL,
    KeyAlgorithm,
    KeyBackend,
    KeyBackendError,
    KeyNotFound,
)

__all__ = [
    "CARD_MANAGEMENT_MASTER_LABEL",
    "KeyAlgorithm",
    "KeyBackend",
    "KeyBackendError",
    "KeyNotFound",
    "key_backend",
    "key_backend_aliases",
]

_instances: dict[str, KeyBackend] = {}
_lock = threading.Lock()


def key_backend_aliases() -> list[str]:
    return list(settings.PKI_KEY_BACKENDS)


def key_backend(alias: str | None = None) -> KeyBackend:
    alias = alias or default_key_backend_alias()
    with _lock:
        instance = _instances.get(alias)
        if instance is not None:
            return instance
        configured = key_backend_settings()
        config = configured.get(alias)
        if config is None:
            known = ", ".join(configured) or "none"
            msg = f"no key backend {alias!r} in PKI_KEY_BACKENDS (configured: {known})"
            raise ImproperlyConfigured(msg)
        backend_class = _backend_class(alias, config.get("BACKEND"))
        options = config.get("OPTIONS", {})
        if not isinstance(options, Mapping):
            msg = f"PKI_KEY_BACKENDS[{alias!r}]['OPTIONS'] must be a dict"
            raise ImproperlyConfigured(msg)
        instance = backend_class(alias, options)
        _instances[alias] = instance
        return instance


def _backend_class(alias: str, path: object) -> type[KeyBackend]:
    """The class PKI_KEY_BACKENDS[alias]['BACKEND'] names."""
    setting = f"PKI_KEY_BACKENDS[{alias!r}]['BACKEND']"
    if not isinstance(path, str):
        msg = f"{setting} must be the dotted path of a KeyBackend class"
        raise ImproperlyConfigured(msg)
    try:
        found = import_string(path)
    except ImportError as exc:
        msg = f"{setting} cannot be imported: {exc}"
        raise ImproperlyConfigured(msg) from None
    if not (isinstance(found, type) and issubclass(found, KeyBackend)):
        msg = f"{setting} {path!r} is not a KeyBackend class"
        raise ImproperlyConfigured(msg)
    return found


@receiver(setting_changed)
def _forget_backends(*, setting: str, **kwargs: object) -> None:
    if setting in {"PKI_KEY_BACKENDS", "CARDFORGE_KEK"}:
        with _lock:
            _instances.clear()
