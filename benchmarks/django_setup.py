"""Start Django for a benchmark on a scratch database (a temporary SQLite file by default)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup(database_url: str | None = None) -> Path:
    """Configure and migrate a throwaway database; returns the scratch directory."""
    scratch = Path(tempfile.mkdtemp(prefix="cardforge-bench-"))
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["CARDFORGE_VAR_DIR"] = str(scratch)
    os.environ["DEBUG"] = "0"  # no query logging: measure what production runs
    os.environ.setdefault("SECRET_KEY", "benchmark-only-" + os.urandom(16).hex())
    os.environ["LOG_LEVEL"] = "WARNING"
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    _attestation_root(scratch)
    import django
    from django.core.management import call_command

    django.setup()
    if database_url:
        from django.db import connection

        # A PostgreSQL benchmark runs in a fresh test database, as pytest-django would.
        connection.creation.create_test_db(verbosity=0, autoclobber=True)
    else:
        call_command("migrate", verbosity=0)
    return scratch


def _attestation_root(scratch: Path) -> None:
    """An emulator factory root of the run's own, the one trusted root: the emulated cards
    attest their keys as the runner requires (docs/personalization.md, "Attestation")."""
    from cardedge.emulator import make_attestation_root

    root = make_attestation_root("CardForge benchmark attestation root")
    key_file = scratch / "emulator-attestation-root.pem"
    key_file.write_bytes(root.to_pem())
    key_file.chmod(0o600)
    roots = scratch / "attestation-roots"
    roots.mkdir()
    (roots / "emulator.pem").write_bytes(root.certificate_pem())
    os.environ["CARDFORGE_EMULATOR_ATTESTATION_KEY_FILE"] = str(key_file)
    os.environ["CARDFORGE_ATTESTATION_ROOTS"] = str(roots)
