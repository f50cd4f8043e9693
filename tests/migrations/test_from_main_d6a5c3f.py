"""A SQLite database created and filled by main at d6a5c3f (the layout before the `cards` app)
migrates to today's layout with every card, request, certificate, job and audit event intact,
`verify_audit` passes on it, and every role keeps every permission it had.

The database and what it must keep were made by `make_fixture.py` (README.md here). `migrate`,
`check` and `verify_audit` run in child processes on the decompressed file, as an operator would
run them; the rows are then read back with raw SQL and compared with the manifest.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from config.env import Secret
from config.sealing import SealError, unseal
from tests.migrations import snapshot
from tests.migrations.make_fixture import FIXTURE_KEK, fixture_environment

HERE = Path(__file__).resolve().parent
BASE_DIR = HERE.parent.parent
FIXTURE = HERE / "fixtures" / "main-d6a5c3f.sqlite3.gz"
MANIFEST = HERE / "fixtures" / "main-d6a5c3f.json"

# Where each table of the fixture lives after the migrations: the plan keeps every name.
TABLES = {
    "issuance_cardrequest": "issuance_cardrequest",
    "personalization_card": "personalization_card",
    "personalization_pinmailer": "personalization_pinmailer",
    "personalization_escrowedkey": "personalization_escrowedkey",
    "pki_certificate": "pki_certificate",
    "personalization_personalizationjob": "personalization_personalizationjob",
    "audit_auditevent": "audit_auditevent",
}
# A moved model's content type in the fixture ("app_label.model") -> its app label now, e.g.
# {"issuance.cardrequest": "cards", "personalization.card": "cards", ...}. Its permissions are
# then expected as "cards.<codename>", and links to it (a certificate's card) as "cards.<model>".
MOVED_MODELS: dict[str, str] = {
    "issuance.cardrequest": "cards",
    "personalization.card": "cards",
    "personalization.pinmailer": "cards",
    "personalization.escrowedkey": "cards",
}

# Secrets sealed at rest (config/sealing.py), by purpose: each blob with its owner. They must
# still open with the fixture's key-encryption key: the PIN mailers not yet downloaded, the
# escrowed keys and the emulated cards are still usable after the move.
SEALED = {
    "pin-mailer": (
        "SELECT m.sealed, c.serial FROM {personalization_pinmailer} m "
        "JOIN {personalization_card} c ON c.id = m.card_id WHERE m.sealed IS NOT NULL"
    ),
    "escrowed-key": (
        "SELECT k.sealed_private_key, c.serial || '/' || k.slot FROM {personalization_escrowedkey} k "
        "JOIN {personalization_card} c ON c.id = k.card_id"
    ),
    "emulated-card-state": (
        "SELECT state, CAST(serial AS TEXT) FROM personalization_emulatedcard "
        "WHERE state IS NOT NULL"
    ),
}

# A state renamed since: a card replaced by a newer one (the only way a card ended then) is now
# revoked, reason superseded (cards/0002). Such a row is read back under its former state.
RENAMED_STATES = {
    "personalization_card": (
        "SELECT id FROM personalization_card WHERE status = 'revoked' "
        "AND revocation_reason = 'superseded'",
        "status",
        "replaced",
    )
}

pytestmark = pytest.mark.slow


def _moved(name: str) -> str:
    """A content type or permission owner "app_label.model" as it is named now."""
    if name in MOVED_MODELS:
        return f"{MOVED_MODELS[name]}.{name.split('.', 1)[1]}"
    return name


def _manage(*args: str, environment: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> dict:
    """The fixture decompressed, then `migrate`, `check` and `verify_audit` run on it."""
    work = tmp_path_factory.mktemp("from-main-d6a5c3f")
    database = work / "cardforge.sqlite3"
    with gzip.open(FIXTURE, "rb") as packed, database.open("wb") as raw:
        shutil.copyfileobj(packed, raw)
    environment = {**os.environ, **fixture_environment(database, work / "var")}
    runs = {
        command: _manage(*command.split(), environment=environment)
        for command in ("migrate --no-input", "check", "verify_audit")
    }
    return {"database": database, "runs": runs}


@pytest.fixture
def db_file(migrated):
    with snapshot.connect(migrated["database"]) as connection:
        yield connection


def _output(run: subprocess.CompletedProcess) -> str:
    return f"exit {run.returncode}\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"


def test_migrate_and_check_succeed(migrated):
    for command in ("migrate --no-input", "check"):
        run = migrated["runs"][command]
        assert run.returncode == 0, f"manage.py {command}: {_output(run)}"


def test_the_audit_chain_is_intact(migrated, manifest, db_file):
    run = migrated["runs"]["verify_audit"]
    assert run.returncode == 0, _output(run)
    assert "audit chain intact" in run.stdout, _output(run)
    # The head the old code left is still in the chain, with its hash.
    head = manifest["audit_head"]
    found = db_file.execute(
        f'SELECT "hash" FROM "{TABLES["audit_auditevent"]}" WHERE "sequence" = ?',
        (head["sequence"],),
    ).fetchone()
    assert found == (head["hash"],)


@pytest.mark.parametrize("table", list(TABLES))
def test_every_row_survives_unchanged(migrated, manifest, db_file, table):
    kept = manifest["tables"][table]
    now = TABLES[table]
    columns = snapshot.table_columns(db_file, now)
    assert columns, f"table {now} (was {table}) is gone"
    missing_columns = [name for name in kept["columns"] if name not in columns]
    assert not missing_columns, f"{now}: columns gone: {', '.join(missing_columns)}"

    # A link to a moved model reads as it did before the move; one still naming the model's
    # old content type (left stale by the move) does not.
    old_names = {
        **{name: f"stale {name}" for name in MOVED_MODELS if _moved(name) != name},
        **{_moved(name): name for name in MOVED_MODELS},
    }
    rows = snapshot.table_rows(db_file, now, kept["columns"], old_names=old_names)
    if table in RENAMED_STATES:
        query, column, former = RENAMED_STATES[table]
        for (pk,) in db_file.execute(query):
            rows[str(pk)][column] = former
    seen = {pk: snapshot.row_digest(row) for pk, row in rows.items()}
    problems = [f"id {pk} missing" for pk in kept["rows"] if pk not in seen]
    problems += [f"id {pk} added" for pk in seen if pk not in kept["rows"]]
    problems += [
        f"id {pk} changed"
        for pk, digest in kept["rows"].items()
        if pk in seen and seen[pk] != digest
    ]
    # Missing and added ids account for any difference in the row count.
    assert not problems, (
        f"{now} (was {table}): {kept['count']} rows kept, {len(seen)} now; "
        + "; ".join(problems[:20])
    )


def test_a_replaced_card_is_now_revoked_as_superseded_when_it_was_replaced(migrated, db_file):
    rows = db_file.execute(
        "SELECT c.id, c.status, c.revocation_reason, c.revoked_at, e.created_at "
        "FROM personalization_card c JOIN audit_auditevent e ON e.object_id = CAST(c.id AS TEXT) "
        "AND e.event = 411 WHERE e.object_type IN ('personalization.card', 'cards.card')"
    ).fetchall()
    assert rows, "the fixture has a replaced card"
    for _pk, status, reason, revoked_at, replaced_at in rows:
        assert (status, reason) == ("revoked", "superseded")
        assert revoked_at == replaced_at
    assert not db_file.execute(
        "SELECT 1 FROM personalization_card WHERE status = 'replaced'"
    ).fetchall()


def test_every_model_and_permission_still_exists(migrated, manifest, db_file):
    content_types = set(snapshot.content_types(db_file))
    gone = [name for name in manifest["content_types"] if _moved(name) not in content_types]
    assert not gone, f"content types gone: {', '.join(gone)}"
    permissions = set(snapshot.permissions(db_file))
    gone = [
        dotted
        for dotted, model in manifest["permissions"].items()
        if f"{_moved(model).split('.')[0]}.{dotted.split('.', 1)[1]}" not in permissions
    ]
    assert not gone, f"permissions gone: {', '.join(sorted(gone))}"


def test_every_role_keeps_its_permissions(migrated, manifest, db_file):
    held = snapshot.group_permissions(db_file)
    owners = manifest["permissions"]
    lost = {}
    for group, perms in manifest["groups"].items():
        expected = {
            f"{_moved(owners[dotted]).split('.')[0]}.{dotted.split('.', 1)[1]}" for dotted in perms
        }
        missing = expected - set(held.get(group, []))
        if missing:
            lost[group] = sorted(missing)
    assert not lost, f"roles lost permissions: {lost}"


def test_sealed_secrets_still_open(migrated, db_file, settings):
    settings.CARDFORGE_KEK = Secret(base64.b64decode(FIXTURE_KEK))
    # Sealed before the web's and the emulator's own keys existed (config/sealing.py): under the
    # KEK, which still opens them.
    for purpose, query in SEALED.items():
        blobs = db_file.execute(query.format(**TABLES)).fetchall()
        assert blobs, f"no sealed {purpose} left"
        for blob, owner in blobs:
            try:
                unseal(blob, purpose=purpose, owner=owner)
            except SealError as error:
                pytest.fail(str(error))


def test_stored_card_profile_versions_validate_under_todays_schema(migrated, db_file):
    """Versions stored before a field existed (attestation) still validate, with its default:
    the qualified signature slot requires attestation, the others take it as optional."""
    from cardprofiles.schema import slot_attestation, validate_definition

    rows = db_file.execute("SELECT definition FROM cardprofiles_cardprofileversion").fetchall()
    assert rows
    for (stored,) in rows:
        definition = json.loads(stored)
        cleaned = validate_definition(definition)
        for slot, spec in definition["slots"].items():
            expected = (
                "required"
                if spec["certificate_profile"] == "hp-qualified-signature"
                else "optional"
            )
            assert slot_attestation(spec) == cleaned["slots"][slot]["attestation"] == expected
