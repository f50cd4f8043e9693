from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.roles import Role
from cardedge.emulator import AttestationRoot, make_attestation_root
from cardprofiles.services.versions import card_profile_sync_builtin
from tests.cardedge.pcsc_harness import HarnessError, PcscCardHarness
from tests.factories import ProfessionalFactory, make_user
from tests.services import CHECKS

# What drives a real outside program (a private pcscd with vpcd, a headless Chromium) is slow by
# nature: `make test-fast` (-m "not slow") leaves it out, `make test` runs it.
SLOW_BY_NATURE = ("pcsc", "browser")


def pytest_configure(config: pytest.Config) -> None:
    """The suite runs stations and the signer in this one process (docs/signer.md), so it reads
    the signer's secrets: `make test` names them; a bare `pytest` is told how."""
    from django.conf import settings

    if settings.CARDFORGE_KEK is None and not os.environ.get("CARDFORGE_KEK"):
        pytest.exit(
            "the tests need the signer's secrets: run `make test`, or set "
            "CARDFORGE_SIGNER_SECRETS_FILE=var/signer.env CARDFORGE_DEVELOPMENT_SHARED_HOST=1",
            returncode=2,
        )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(item.get_closest_marker(name) for name in SLOW_BY_NATURE):
            item.add_marker(pytest.mark.slow)


def pytest_runtest_setup(item: pytest.Item) -> None:
    for name, check in CHECKS.items():
        if item.get_closest_marker(name) is None:
            continue
        problem = check()
        if problem is None:
            continue
        if settings.CARDFORGE_REQUIRE_SERVICES:
            pytest.fail(f"{name} is required (CARDFORGE_REQUIRE_SERVICES=1): {problem}")
        pytest.skip(problem)


@pytest.fixture(scope="session", autouse=True)
def attestation_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AttestationRoot]:
    """The test session's emulator factory root: it signs every blank emulated card's
    attestation certificate and is the one trusted attestation root. Also in the environment,
    for the processes tests start (workers, emulate_card)."""
    root = make_attestation_root("CardForge test attestation root")
    directory = tmp_path_factory.mktemp("attestation")
    key_file = directory / "root-key.pem"
    key_file.write_bytes(root.to_pem())
    key_file.chmod(0o600)
    roots = directory / "roots"
    roots.mkdir()
    (roots / "test-root.pem").write_bytes(root.certificate_pem())
    environment = {
        "CARDFORGE_EMULATOR_ATTESTATION_KEY_FILE": str(key_file),
        "CARDFORGE_ATTESTATION_ROOTS": str(roots),
    }
    previous = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    try:
        with override_settings(
            CARDFORGE_EMULATOR_ATTESTATION_KEY_FILE=key_file, CARDFORGE_ATTESTATION_ROOTS=roots
        ):
            yield root
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="session", autouse=True)
def station_keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where the session's encoder stations keep their keys (docs/signer.md): stations run in
    this process are enrolled on first use, their keys made here; the processes tests start
    (station and signer workers) read the same directory."""
    directory = tmp_path_factory.mktemp("station-keys")
    directory.chmod(0o700)
    previous = os.environ.get("CARDFORGE_STATION_KEYS_DIR")
    os.environ["CARDFORGE_STATION_KEYS_DIR"] = str(directory)
    try:
        with override_settings(CARDFORGE_STATION_KEYS_DIR=directory):
            yield directory
    finally:
        if previous is None:
            os.environ.pop("CARDFORGE_STATION_KEYS_DIR", None)
        else:
            os.environ["CARDFORGE_STATION_KEYS_DIR"] = previous


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Real hashing is deliberately slow; tests create many users."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counts (the token endpoint's, per address) live in the cache: none carried over."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _private_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    # Each test's own store of audit checkpoints (audit/checkpoints.py), as its own database.
    settings.CARDFORGE_AUDIT_CHECKPOINT_DIR = tmp_path / "audit-checkpoints"


@pytest.fixture
def profiles(db) -> dict:
    """The built-in card profiles, by name."""
    return {
        result.version.profile.name: result.version.profile
        for result in card_profile_sync_builtin()
    }


@pytest.fixture
def users(db) -> dict[Role, object]:
    """One user per role."""
    return {role: make_user(role, username=role.slug) for role in Role}


@pytest.fixture
def professional(db):
    return ProfessionalFactory()


@pytest.fixture
def api():
    """An API client; `api.as_user(user)` signs it in, `api.as_user(None)` signs it out."""
    client = APIClient()

    def as_user(user):
        client.force_authenticate(user=user)
        return client

    client.as_user = as_user
    return client


@pytest.fixture
def console_typing(monkeypatch):
    """What a user types at a command's prompts (accounts/console.py): their password (the
    factories' one unless the test changes `typed["password"]`) and the code their authenticator
    shows now. Each code is accepted as if a new period had begun, so one test may sign in at the
    console several times."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tests.factories import totp_code

    typed = {"password": "correct horse battery staple", "prompts": []}

    def type_answer(prompt: str = "") -> str:
        typed["prompts"].append(prompt)
        if prompt.startswith("Password for "):
            return typed["password"]
        username = prompt.removeprefix("Authenticator code for ").removesuffix(": ")
        device = TOTPDevice.objects.get(user__username=username, confirmed=True)
        TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)
        return totp_code(device.bin_key)

    monkeypatch.setattr("accounts.console.getpass.getpass", type_answer)
    return typed


@pytest.fixture(scope="session")
def pcsc_harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PcscCardHarness]:
    """A private pcscd with an emulated card (`manage.py emulate_card`) in its first reader,
    for one session: the card-edge tests (tests/cardedge) and the PC/SC stations' tests use it."""
    workdir: Path = tmp_path_factory.mktemp("pcsc")
    try:
        harness = PcscCardHarness.start(workdir)
    except HarnessError as exc:
        pytest.fail(f"PC/SC harness: {exc}", pytrace=False)
    try:
        harness.bind_this_process()
    except HarnessError as exc:
        harness.stop()
        pytest.fail(f"PC/SC harness: {exc}", pytrace=False)
    yield harness
    harness.stop()
