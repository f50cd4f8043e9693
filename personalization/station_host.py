"""A station's host holds none of the signer's secrets (docs/signer.md): a station worker
refuses to start where the KEK or the HSM PIN can be read, unless CARDFORGE_DEVELOPMENT_SHARED_HOST
says that station and signer share a host on purpose."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from config.env import signer_secrets_present


def station_host_check() -> None:
    """ImproperlyConfigured, naming what it found, where a station must not run."""
    found = signer_secrets_present()
    if found and not settings.CARDFORGE_DEVELOPMENT_SHARED_HOST:
        msg = (
            f"a station's worker does not start where the signer's secrets are readable "
            f"({', '.join(found)}): only the signer holds them (docs/signer.md). Remove them "
            "from this host's environment and .env, or set CARDFORGE_DEVELOPMENT_SHARED_HOST=1 "
            "where station and signer share a development machine on purpose"
        )
        raise ImproperlyConfigured(msg)
