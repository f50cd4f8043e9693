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

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

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
    alias = alias or settings.PKI_DEFAULT_KEY_BACKEND
    with _lock:
        instance = _instances.get(alias)
        if instance is not None:
            return instance
        config = settings.PKI_KEY_BACKENDS.get(alias)
        if config is None:
            known = ", ".join(settings.PKI_KEY_BACKENDS) or "none"
            msg = f"no key backend {alias!r} in PKI_KEY_BACKENDS (configured: {known})"
            raise ImproperlyConfigured(msg)
        try:
            backend_class = import_string(config["BACKEND"])
        except (KeyError, ImportError) as exc:
            msg = f"PKI_KEY_BACKENDS[{alias!r}]['BACKEND'] cannot be imported: {exc}"
            raise ImproperlyConfigured(msg) from None
        instance = backend_class(alias, config.get("OPTIONS", {}))
        _instances[alias] = instance
        return instance


@receiver(setting_changed)
def _forget_backends(*, setting, **kwargs) -> None:
    if setting in {"PKI_KEY_BACKENDS", "CARDFORGE_KEK"}:
        with _lock:
            _instances.clear()
