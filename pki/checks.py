"""Start-up checks of the PKI settings (`manage.py check`; `--deploy` adds the production ones)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from pki.conf import key_backend_settings

DOCUMENTATION_ARC = "1.3.6.1.4.1.32473."


@register(Tags.security)
def check_key_backends(  # in the signer's process
    app_configs: Sequence[AppConfig] | None, **kwargs: object
) -> list[CheckMessage]:
    problems: list[CheckMessage] = []
    if not settings.CARDFORGE_IS_SIGNER:
        return problems  # only the signer holds key material (docs/signer.md)
    for alias, config in key_backend_settings().items():
        backend = config.get("BACKEND", "")
        if not isinstance(backend, str):
            backend = ""
        options = config.get("OPTIONS", {})
        kek_setting = (
            options.get("kek_setting", "CARDFORGE_KEK")
            if isinstance(options, Mapping)
            else "CARDFORGE_KEK"
        )
        if backend.endswith(".SoftwareKeyBackend") and (
            getattr(settings, str(kek_setting), None) is None
        ):
            problems.append(
                Error(
                    f"key backend {alias!r} needs a key-encryption key",
                    hint=f"Set {kek_setting} (or {kek_setting}_FILE) to 32 random bytes in "
                    "base64, e.g. `openssl rand -base64 32` (scripts/write-dotenv does it for "
                    "development).",
                    id="pki.E001",
                )
            )
        if backend.endswith(".Pkcs11KeyBackend"):
            options = config.get("OPTIONS", {})
            missing = [
                name
                for name in ("token_label", "user_pin")
                if not (isinstance(options, Mapping) and options.get(name))
            ]
            if missing:
                problems.append(
                    Error(
                        f"key backend {alias!r} lacks {', '.join(missing)}",
                        hint="Set CARDFORGE_PKCS11_TOKEN_LABEL and CARDFORGE_PKCS11_PIN "
                        "(or CARDFORGE_PKCS11_PIN_FILE).",
                        id="pki.E002",
                    )
                )
    return problems


@register(Tags.security, deploy=True)
def check_production_identity(
    app_configs: Sequence[AppConfig] | None, **kwargs: object
) -> list[CheckMessage]:
    problems: list[CheckMessage] = []
    if (settings.PKI_POLICY_OID or "").startswith(DOCUMENTATION_ARC):
        problems.append(
            Warning(
                "CARDFORGE_PKI_POLICY_OID is the documentation example (RFC 5612 arc)",
                hint="Use a certificate policy OID under your organisation's own arc.",
                id="pki.W001",
            )
        )
    host = urlsplit(settings.CARDFORGE_PKI_BASE_URL).hostname or ""
    if host in {"localhost", "127.0.0.1", "::1"} or "." not in host:
        problems.append(
            Warning(
                f"certificates would point relying parties at {host!r}",
                hint="Set CARDFORGE_PKI_BASE_URL (or CARDFORGE_BASE_URL) to the public http:// "
                "address of this platform's /pki/ endpoints before issuing certificates.",
                id="pki.W002",
            )
        )
    return problems
