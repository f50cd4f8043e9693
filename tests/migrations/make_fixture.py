"""Make the migration fixture: a SQLite database created and filled by the old layout's code.

Run by hand, not by pytest, from the project directory, on a checkout of the code whose
database the fixture stands for (the file names say which commit; see README.md here):

    .venv/bin/python tests/migrations/make_fixture.py

In a temporary directory it creates a fresh SQLite database with this checkout's code, runs
`migrate` and `bootstrap_demo`, then plays a day at the office through the services the back
office calls: card requests in every status, cards personalized on the emulated station by the
real runner (one replaced, one with a centrally generated escrowed key, one whose card was pulled
out mid-job), a PIN mailer downloaded, a certificate revoked under four eyes. It writes

    fixtures/main-<commit>.sqlite3.gz   the database file, gzip-compressed
    fixtures/main-<commit>.json         what a migration must keep (tests/migrations/snapshot.py)

Only obviously fake secrets are used: the key-encryption key and SECRET_KEY below, which seal
the CA keys, PIN mailers, escrowed keys and emulated cards of this fixture and nothing else. The
demo users' passwords are random, printed by bootstrap_demo into nothing and never kept.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from contextlib import redirect_stdout
from pathlib import Path

HERE = Path(__file__).resolve().parent
BASE_DIR = HERE.parent.parent
FIXTURES = HERE / "fixtures"

# Fake, and named so: the fixture's own secrets. The test sets the same ones.
FIXTURE_KEK = base64.b64encode(b"cardforge-migration-fixture-kek!").decode()
FIXTURE_SECRET_KEY = "migration-fixture-secret-key-for-tests-only"


def fixture_environment(database: Path, var_dir: Path) -> dict[str, str]:
    """The variables a Django process of the fixture runs with (the test uses them too)."""
    return {
        "DATABASE_URL": f"sqlite:///{database}",  # absolute path: sqlite:////tmp/...
        "CARDFORGE_VAR_DIR": str(var_dir),
        "MEDIA_ROOT": str(var_dir / "media"),
        "CARDFORGE_KEK": FIXTURE_KEK,
        "SECRET_KEY": FIXTURE_SECRET_KEY,
        "DEBUG": "1",
        "CELERY_TASK_ALWAYS_EAGER": "0",  # jobs are run below, one by one, by the runner
        "CELERY_BROKER_URL": "filesystem://localhost/",  # messages land in var_dir, unread
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "LOG_LEVEL": "WARNING",
    }


def code_commit() -> str:
    """The last commit that changed the application (anything but this folder): the code
    whose database this is. Refuses a checkout with uncommitted changes outside this folder."""
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", ".", ":(exclude)tests/migrations"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if dirty:
        sys.exit(f"uncommitted changes outside tests/migrations; commit or stash them:\n{dirty}")
    return subprocess.run(
        ["git", "log", "-1", "--format=%H", "--", ".", ":(exclude)tests/migrations"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def fill() -> dict[str, int]:
    """Play the day through the services; returns what was made, for the log."""
    from django.core.management import call_command

    with redirect_stdout(io.StringIO()):  # bootstrap_demo prints the demo passwords: not kept
        call_command("migrate", interactive=False, verbosity=0)
        call_command("bootstrap_demo")

    # The old layout's modules (d6a5c3f): this script runs on that checkout, not on today's.
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from issuance.demo import demo_rpps  # the old layout's home (demo/data.py since)
    from issuance.services.card_requests import (
        card_request_approve,
        card_request_cancel,
        card_request_reject,
        card_request_submit,
    )

    from cardedge.piv.constants import Ins
    from cardedge.transports import CardRemoved
    from cardprofiles.models import CardProfile
    from cardprofiles.schema import parse_yaml
    from cardprofiles.services.versions import card_profile_save_definition
    from issuance.models import Professional
    from issuance.services.registry import professional_create
    from personalization.models import Card, PersonalizationJob
    from personalization.runner.engine import Outcome, job_run
    from personalization.services.documents import pin_mailer_download
    from personalization.services.jobs import job_cancel
    from pki.models import Certificate
    from pki.services.revocation import (
        revocation_request_approve,
        revocation_request_reject,
        revocation_request_submit,
    )

    users = {user.username: user for user in get_user_model().objects.all()}
    enrolment, approver, encoder = users["enrolment"], users["approver"], users["encoder"]

    # A profile whose key-management key (9D) is generated centrally and escrowed.
    physician = CardProfile.objects.get(name="hpc-physician")
    definition = parse_yaml(
        (BASE_DIR / "cardprofiles/builtin/hpc-physician.yaml").read_text(encoding="utf-8"),
        source="fixture",
    )
    definition.update(name="hpc-escrow", display_name="Health professional card — escrowed 9D")
    definition["slots"]["9D"]["key_generation"] = "central"
    escrow = card_profile_save_definition(definition=definition, source="fixture").version.profile
    rsa = CardProfile.objects.get(name="hpc-rsa")

    demo = list(Professional.objects.order_by("pk"))
    with transaction.atomic():
        extra = [
            professional_create(
                data={
                    "rpps": demo_rpps(100 + number),
                    "last_name": f"Fixture{chr(ord('A') + number)}",
                    "first_name": "Camille",
                    "profession": "physician",
                    "email": f"camille.{number}@example.org",
                    "organisation_finess": "750000002",
                },
                by=enrolment,
            )
            for number in range(4)
        ]
    people = demo + extra

    def submit(professional, profile, reason="new"):
        return card_request_submit(
            professional=professional, profile=profile, reason=reason, by=enrolment
        )

    def approve(card_request):
        return card_request_approve(card_request=card_request, by=approver)

    def personalize(card_request) -> Card:
        job = PersonalizationJob.objects.get(card_request=card_request, status="waiting")
        outcome = job_run(job_id=job.pk, worker="fixture")
        if outcome is not Outcome.DONE:
            sys.exit(f"job #{job.pk} ended {outcome}, not done")
        return Card.objects.get(card_request=card_request, status="personalized")

    # Completed: cards personalized on the emulated station.
    personalize(approve(submit(people[0], physician)))
    revoked_card = personalize(approve(submit(people[1], physician)))
    escrowed = personalize(approve(submit(people[2], escrow)))
    personalize(approve(submit(people[5], rsa)))
    # A replacement: the first card is replaced, its certificates revoked (superseded).
    personalize(approve(submit(people[0], physician, reason="replacement")))
    # The downloaded PIN mailer (its sealed PIN and PUK destroyed); the others stay sealed.
    pin_mailer_download(card=escrowed, by=encoder)

    # A certificate revoked under four eyes; a second request rejected, a third left pending.
    by_slot = {c.card_slot: c for c in Certificate.objects.for_card(revoked_card)}
    revocation_request_approve(
        revocation_request=revocation_request_submit(
            certificate=by_slot["9C"], reason="keyCompromise", by=enrolment, comment="lost"
        ),
        by=approver,
    )
    revocation_request_reject(
        revocation_request=revocation_request_submit(
            certificate=by_slot["9A"], reason="keyCompromise", by=enrolment
        ),
        by=approver,
        comment="found again",
    )
    revocation_request_submit(certificate=by_slot["9E"], reason="unspecified", by=enrolment)

    # A failed job: the card pulled out while its certificates were being written (the test
    # suite's fault injection); the card fails, its certificates are revoked.
    import pytest

    from tests.personalization.jobs.faults import Fault, install

    pulled = approve(submit(people[3], physician))
    with pytest.MonkeyPatch.context() as patch:
        install(patch, Fault(Ins.PUT_DATA, 2, exception=CardRemoved("the card was removed")))
        job = PersonalizationJob.objects.get(card_request=pulled)
        if job_run(job_id=job.pk, worker="fixture") is not Outcome.FAILED:
            sys.exit("the pulled card's job did not fail")

    # Approved, its job waiting; approved, its job cancelled.
    approve(submit(people[4], physician))
    cancelled_job = approve(submit(people[6], physician))
    job_cancel(job=PersonalizationJob.objects.get(card_request=cancelled_job), by=encoder)

    # Rejected, cancelled and submitted requests.
    for professional in people[1:3]:
        card_request_reject(
            card_request=submit(professional, rsa), by=approver, reason="wrong profile"
        )
    for professional in people[3:5]:
        card_request_cancel(card_request=submit(professional, rsa), by=enrolment, reason="typo")
    for professional in (people[6], people[7]):
        submit(professional, rsa)
    submit(people[7], physician)

    return {
        "cards": Card.objects.count(),
        "jobs": PersonalizationJob.objects.count(),
        "certificates": Certificate.objects.count(),
    }


def snapshot(database: Path, commit: str) -> dict:
    sys.path.insert(0, str(HERE))
    import snapshot as snap

    with snap.connect(database) as db:
        tables = {
            table: snap.table_snapshot(db, table, snap.table_columns(db, table))
            for table in snap.TABLES
        }
        return {
            "made_by": "tests/migrations/make_fixture.py",
            "code_commit": commit,
            "tables": tables,
            "audit_head": snap.audit_head(db),
            "content_types": snap.content_types(db),
            "permissions": snap.permissions(db),
            "groups": snap.group_permissions(db),
        }


def main() -> None:
    commit = code_commit()
    name = f"main-{commit[:7]}"
    with tempfile.TemporaryDirectory(prefix="cardforge-fixture-") as work:
        database = Path(work) / "cardforge.sqlite3"
        os.environ.update(fixture_environment(database, Path(work) / "var"))
        sys.path.insert(0, str(BASE_DIR))
        import django

        django.setup()
        made = fill()
        from django.db import connections

        connections.close_all()
        with sqlite3.connect(database) as db:  # one self-contained file, as small as it gets
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.execute("PRAGMA journal_mode=DELETE")
        with sqlite3.connect(database) as db:
            db.execute("VACUUM")
        manifest = snapshot(database, commit)
        empty = [table for table, seen in manifest["tables"].items() if not seen["count"]]
        if empty:
            sys.exit(f"tables left empty: {', '.join(empty)}")
        FIXTURES.mkdir(exist_ok=True)
        with (
            database.open("rb") as raw,
            gzip.GzipFile(FIXTURES / f"{name}.sqlite3.gz", "wb", mtime=0) as packed,
        ):
            shutil.copyfileobj(raw, packed)
        (FIXTURES / f"{name}.json").write_text(
            json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8"
        )
    counts = ", ".join(f"{table} {seen['count']}" for table, seen in manifest["tables"].items())
    sys.stdout.write(f"{name}: {made}; rows: {counts}\n")


if __name__ == "__main__":
    main()
