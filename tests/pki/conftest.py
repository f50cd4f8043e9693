"""A session-wide CA hierarchy per key backend, SoftHSM2 in a temporary directory, users by role.

The hierarchies are bootstrapped once, through the real service, in a transaction that is rolled
back; each test that asks for them gets the same rows re-inserted (its own transaction rolls them
back again), so tests stay isolated without paying for key generation each time. Keys live in
the rows (software backend) or in the SoftHSM2 token, which persists for the session.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.contrib.auth.models import Group
from django.db import transaction
from django.test import override_settings

from accounts.roles import Role
from issuance.models import Organisation, Professional
from issuance.validators import luhn_check_digit
from pki.models import (
    Certificate,
    CertificateAuthority,
    CertificateRevocationList,
    MasterKey,
    OcspResponder,
    PlatformSigner,
    SoftwareKey,
)
from pki.services.ocsp import ocsp_cache_clear
from tests.services import CHECKS, SOFTHSM_MODULE

# Certificates must name public DNS names to pass pkilint (it flags localhost as internal).
PKI_TEST_SETTINGS = {
    "CARDFORGE_PKI_BASE_URL": "http://pki.example.org",
    "PKI_QCPDS_URL": "https://www.example.org/pki/pds/en",
    "PKI_ORGANIZATION": "CardForge Test PKI",
}
HSM_HIERARCHY = {
    "root": {
        "slug": "hsm-root",
        "common_name": "CardForge HSM Root CA",
        "algorithm": "rsa-3072",
        "validity_days": 3650,
    },
    "authentication": {
        "slug": "hsm-authentication",
        "common_name": "CardForge HSM Authentication CA",
        "algorithm": "rsa-2048",
        "validity_days": 1825,
    },
    "qualified-signature": {
        "slug": "hsm-qualified-signature",
        "common_name": "CardForge HSM Qualified Signature CA",
        "algorithm": "rsa-2048",
        "validity_days": 1825,
    },
}
# Parents before children, for re-insertion.
SNAPSHOT_MODELS = (
    SoftwareKey,
    MasterKey,
    CertificateAuthority,
    Certificate,
    OcspResponder,
    CertificateRevocationList,
    PlatformSigner,
)


@dataclass(frozen=True)
class SoftHsm:
    module: str
    token_label: str
    pin: str
    directory: Path

    @property
    def backend_config(self) -> dict:
        return {
            "BACKEND": "pki.key_backends.pkcs11.Pkcs11KeyBackend",
            "OPTIONS": {
                "module": self.module,
                "token_label": self.token_label,
                "user_pin": self.pin,
                "pool_size": 4,
            },
        }


def _softhsm_available() -> bool:
    return CHECKS["softhsm"]() is None


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory) -> SoftHsm | None:
    """A fresh SoftHSM2 token in a temporary directory (SOFTHSM2_CONF), or None if SoftHSM2 is
    not installed (tests marked `softhsm` are then skipped, or fail under
    CARDFORGE_REQUIRE_SERVICES=1)."""
    if not _softhsm_available():
        return None
    directory = tmp_path_factory.mktemp("softhsm")
    (directory / "tokens").mkdir()
    config = directory / "softhsm2.conf"
    config.write_text(
        f"directories.tokendir = {directory / 'tokens'}\n"
        "objectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n"
    )
    # Read by the library when it is first initialised in this process (nothing loaded it yet).
    os.environ["SOFTHSM2_CONF"] = str(config)
    label = f"cardforge-test-{secrets.token_hex(3)}"
    pin = secrets.token_hex(4)
    subprocess.run(
        [
            "softhsm2-util",
            "--init-token",
            "--free",
            "--label",
            label,
            "--pin",
            pin,
            "--so-pin",
            secrets.token_hex(4),
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "SOFTHSM2_CONF": str(config)},
    )
    return SoftHsm(str(SOFTHSM_MODULE), label, pin, directory)


@pytest.fixture(scope="session", autouse=True)
def _pki_settings(softhsm):
    from django.conf import settings

    backends = dict(settings.PKI_KEY_BACKENDS)
    if softhsm is not None:
        backends["pkcs11"] = softhsm.backend_config
    with override_settings(PKI_KEY_BACKENDS=backends, **PKI_TEST_SETTINGS):
        yield


@pytest.fixture(autouse=True)
def _celery_eager():
    """Tasks queued on commit (CRL regeneration) run in the test's process, for PKI tests only
    (other apps' tests may want a real worker)."""
    from config.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.fixture(scope="session")
def _pki_snapshot(django_db_setup, django_db_blocker, softhsm, _pki_settings):
    from django.db import connection

    from pki.services.cas import pki_bootstrap

    name = str(connection.settings_dict["NAME"])
    if not (name.startswith("test_") or "memorydb" in name or "/test_" in name):
        # Never bootstrap a hierarchy in a database that is not a test database.
        raise RuntimeError(f"the PKI test hierarchy would go into {name!r}")
    with django_db_blocker.unblock(), transaction.atomic():
        pki_bootstrap(backend="software")
        if softhsm is not None:
            pki_bootstrap(backend="pkcs11", hierarchy=HSM_HIERARCHY)
        snapshot = [(model, list(model.objects.order_by("pk"))) for model in SNAPSHOT_MODELS]
        transaction.set_rollback(True)
    return snapshot


@dataclass(frozen=True)
class Hierarchy:
    backend: str
    root: CertificateAuthority
    authentication: CertificateAuthority
    qualified: CertificateAuthority

    def issuing_for(self, profile: str) -> CertificateAuthority:
        return self.qualified if profile == "hp-qualified-signature" else self.authentication


@dataclass(frozen=True)
class Hierarchies:
    software: Hierarchy
    pkcs11: Hierarchy | None

    def for_backend(self, backend: str) -> Hierarchy:
        found = getattr(self, backend)
        if found is None:
            pytest.skip("SoftHSM2 is not available")
        return found


def _hierarchy(backend: str, slugs: tuple[str, str, str]) -> Hierarchy | None:
    cas = {ca.slug: ca for ca in CertificateAuthority.objects.filter(slug__in=slugs)}
    if len(cas) != 3:
        return None
    return Hierarchy(backend, cas[slugs[0]], cas[slugs[1]], cas[slugs[2]])


@pytest.fixture
def pki(_pki_snapshot, db) -> Hierarchies:
    """The session's hierarchies, present in this test's database: software (EC P-384 root,
    EC P-256 issuing CAs, the current CAs) and pkcs11 (RSA, in SoftHSM2).

    Depends on `db` by name so pytest-django sets the test database up for every test using it
    (it decides from the fixture names); with `live_server` the test is transactional anyway.
    """
    for model, rows in _pki_snapshot:
        model.objects.bulk_create(rows)
    ocsp_cache_clear()
    return Hierarchies(
        software=_hierarchy("software", ("root", "authentication", "qualified-signature")),
        pkcs11=_hierarchy(
            "pkcs11",
            tuple(HSM_HIERARCHY[role]["slug"] for role in HSM_HIERARCHY),
        ),
    )


# --- people ---------------------------------------------------------------------------------


def valid_rpps(number: int) -> str:
    payload = f"{number:010d}"
    return payload + luhn_check_digit(payload)


@pytest.fixture
def professional(db) -> Professional:
    organisation = Organisation.objects.create(name="Hôpital Saint-Louis", finess="750100018")
    return Professional.objects.create(
        rpps=valid_rpps(1000345678),
        last_name="Lefèvre-Dupont",
        first_name="Hélène",
        profession=10,
        email="helene.lefevre@example.org",
        country="FR",
        organisation=organisation,
    )


@pytest.fixture
def other_professional(db) -> Professional:
    return Professional.objects.create(
        rpps=valid_rpps(1000999999),
        last_name="Martin",
        first_name="Paul",
        profession=21,
        email="paul.martin@example.org",
        country="FR",
    )


@pytest.fixture
def user_with_role(db, django_user_model):
    """user_with_role(Role.X, "name") -> a user in that role's group."""

    def make(role: Role | None, username: str | None = None):
        # No password: hashing one costs half a second, and tests sign in by token or session.
        user = django_user_model.objects.create_user(
            username=username or f"{role.slug if role else 'nobody'}-{secrets.token_hex(3)}",
            password=None,
        )
        if role is not None:
            user.groups.add(Group.objects.get(name=role.value))
        return user

    return make


# --- keys -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def subject_keys() -> dict:
    """Card keys as a card would generate them: one EC P-256 and one RSA-2048."""
    return {
        "ec": ec.generate_private_key(ec.SECP256R1()),
        "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
    }


# --- openssl --------------------------------------------------------------------------------


def openssl(*args: str, check: bool = True, input_bytes: bytes | None = None):
    executable = shutil.which("openssl")
    assert executable, "openssl is required"
    return subprocess.run(
        [executable, *args], capture_output=True, check=check, input=input_bytes, timeout=30
    )
