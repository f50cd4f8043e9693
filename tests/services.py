"""Checks for the outside services some tests need.

A test marked `postgres`, `redis`, `pcsc`, `browser`, `softhsm`, `poppler` or `printer` is skipped when its service is
missing, unless CARDFORGE_REQUIRE_SERVICES=1 (as in CI): then it fails, so a broken set-up can
never pass by skipping.
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
SOFTHSM_MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")
VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
OPENSC_PKCS11 = Path("/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so")


def _postgres() -> str | None:
    from django.db import connection

    if connection.vendor != "postgresql":
        return f"the database is {connection.vendor}; set DATABASE_URL to a PostgreSQL URL"
    return None


@functools.cache
def _redis() -> str | None:
    from django.conf import settings

    url = settings.CELERY_BROKER_URL
    if not url.startswith("redis://"):
        return f"CELERY_BROKER_URL is {url!r}, not a redis:// URL"
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        return f"Redis at {url} does not answer: {exc}"
    return None


@functools.cache
def _browser() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    return None


@functools.cache
def _pcsc() -> str | None:
    tools = ("pcscd", "opensc-tool", "pkcs15-tool", "pkcs11-tool", "yubico-piv-tool", "unshare")
    missing = [name for name in (*tools, "openssl") if shutil.which(name) is None]
    if missing:
        return (
            f"{', '.join(missing)} not installed "
            "(apt-get install pcscd opensc yubico-piv-tool util-linux openssl)"
        )
    for path, package in ((VPCD_DRIVER, "vsmartcard-vpcd"), (OPENSC_PKCS11, "opensc-pkcs11")):
        if not path.exists():
            return f"{path} is missing (apt-get install {package})"
    return None


@functools.cache
def _softhsm() -> str | None:
    if not SOFTHSM_MODULE.exists() or shutil.which("softhsm2-util") is None:
        return "SoftHSM2 is not installed (apt-get install softhsm2)"
    return None


@functools.cache
def _poppler() -> str | None:
    missing = [name for name in ("pdftotext", "pdfinfo") if shutil.which(name) is None]
    if missing:
        return f"{', '.join(missing)} not installed (apt-get install poppler-utils)"
    return None


@functools.cache
def _printer() -> str | None:
    missing = [name for name in ("ippeveprinter", "dbus-daemon") if shutil.which(name) is None]
    if missing:
        return f"{', '.join(missing)} not installed (apt-get install cups-ipp-utils dbus)"
    return None


CHECKS = {
    "postgres": _postgres,
    "redis": _redis,
    "browser": _browser,
    "pcsc": _pcsc,
    "softhsm": _softhsm,
    "poppler": _poppler,
    "printer": _printer,
}
