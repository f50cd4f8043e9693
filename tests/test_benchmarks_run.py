"""The benchmarks are not tests, but they must keep running: a change of the certificate
subject's input once broke both without any test noticing. Each runs here at its smallest size
and must end with its own correctness check."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.cardedge.pcsc_harness import REPO_ROOT

pytestmark = pytest.mark.slow


def _run(*args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_the_personalization_benchmark_runs_and_checks_its_cards():
    out = _run("benchmarks.personalization", "--profile", "ECC", "--rounds", "1", "--cards", "2")
    assert "4 cards personalized" in out
    assert "audit chain of" in out
    assert "intact" in out


def test_the_pki_benchmark_runs():
    out = _run(
        "benchmarks.pki",
        "--certificates",
        "5",
        "--crl-entries",
        "50",
        "--crl-runs",
        "1",
        "--ocsp-seconds",
        "1",
    )
    assert "OCSP revocation visible          good -> revoked" in out


def test_the_audit_report_benchmark_builds_signs_and_checks_its_report():
    """The whole report over a small trail: it signs with the reports key, so it needs the
    signer's secrets, as `make test` sets them."""
    secrets = os.environ.get("CARDFORGE_SIGNER_SECRETS_FILE", str(REPO_ROOT / "var/signer.env"))
    out = _run(
        "benchmarks.audit_report",
        "--events",
        "2000",
        "--rounds",
        "1",
        env={**os.environ, "CARDFORGE_SIGNER_SECRETS_FILE": secrets},
    )
    assert "| PAdES signature (pyHanko, reports key) |" in out
    assert "| **the whole report** |" in out
    assert "audit trail of 2,000 events intact" in out
    assert "validates with pyHanko against the root CA" in out


@pytest.mark.postgres
@pytest.mark.redis
def test_the_separated_workers_benchmark_runs_both_workers_and_checks_its_cards(settings):
    """Two real workers (station, signer) on this run's PostgreSQL server and Redis."""
    from django.db import connection

    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    server = f"postgres://{credentials}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/postgres"
    out = _run(
        "benchmarks.separated_workers",
        "--database-url",
        server,
        "--broker",
        settings.CELERY_BROKER_URL,
        "--cards",
        "2",
    )
    assert "5 cards personalized" in out
    assert "station worker + signer worker on Redis" in out
