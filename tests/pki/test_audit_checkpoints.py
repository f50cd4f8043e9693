"""Writing the audit trail's signed checkpoints: cadence, store, and a check an auditor makes
with openssl alone, as docs/audit.md tells them."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from audit.checkpoints import certificate_file_name, checkpoint_parse
from audit.events import EventType
from audit.models import AuditCheckpoint
from audit.services import audit_record
from pki.models import PlatformSigner
from pki.services.audit_checkpoints import audit_checkpoint_write
from pki.services.cas import pki_bootstrap
from pki.tasks import audit_checkpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def pki(db):
    return pki_bootstrap(backend="software")


def _write(count: int) -> None:
    for index in range(count):
        with transaction.atomic():
            audit_record(event=EventType.USER_LOGGED_IN, payload={"n": index})


def test_the_bootstrap_makes_a_key_and_certificate_for_checkpoints_and_for_reports(pki):
    signers = {signer.purpose: signer for signer in PlatformSigner.objects.current()}
    assert set(signers) == {"audit-checkpoints", "reports"}
    assert signers["audit-checkpoints"].certificate.profile == "audit-signing"
    assert signers["reports"].certificate.profile == "document-signing"
    assert signers["audit-checkpoints"].key_handle != signers["reports"].key_handle
    assert "platform key for audit trail checkpoints" in pki.created
    assert pki_bootstrap(backend="software").created == []


def test_a_checkpoint_comes_every_n_events_or_every_m_minutes_while_events_come(pki, settings):
    settings.CARDFORGE_AUDIT_CHECKPOINT_EVENTS = 10
    settings.CARDFORGE_AUDIT_CHECKPOINT_MINUTES = 5
    first = audit_checkpoint_write()  # the first one as soon as there are events
    assert first is not None
    _write(3)
    assert audit_checkpoint_write() is None  # 3 events, not 5 minutes yet
    later = timezone.now() + dt.timedelta(minutes=6)
    by_time = audit_checkpoint_write(now=later)
    assert by_time.sequence == first.sequence + 3
    assert audit_checkpoint_write(now=later + dt.timedelta(minutes=10)) is None  # nothing new
    _write(10)
    by_count = audit_checkpoint_write(now=later + dt.timedelta(seconds=1))
    assert by_count.sequence == by_time.sequence + 10
    assert list(AuditCheckpoint.objects.values_list("sequence", flat=True)) == [
        first.sequence,
        by_time.sequence,
        by_count.sequence,
    ]


def test_the_beat_task_writes_a_due_checkpoint_and_the_command_one_now(pki, settings, capsys):
    settings.CARDFORGE_AUDIT_CHECKPOINT_EVENTS = 1000
    sequence = audit_checkpoint.apply().get()
    assert sequence == AuditCheckpoint.objects.get().sequence
    assert audit_checkpoint.apply().get() is None
    _write(2)
    call_command("audit_checkpoint")
    assert f"checkpoint at event {sequence + 2} written" in capsys.readouterr().out
    call_command("audit_checkpoint")
    assert "nothing to anchor" in capsys.readouterr().out


def test_checkpoint_files_are_read_only_and_never_replaced(pki):
    checkpoint = audit_checkpoint_write(force=True)
    assert checkpoint.path.stat().st_mode & 0o777 == 0o444
    assert checkpoint.path.with_suffix(".sig").stat().st_mode & 0o777 == 0o444


@pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl CLI is not installed")
def test_an_auditor_checks_a_checkpoint_with_openssl_alone(pki, tmp_path):
    _write(3)
    checkpoint = audit_checkpoint_write(force=True)
    store = checkpoint.path.parent
    stated = checkpoint_parse(checkpoint.path.read_bytes())
    chain = store / certificate_file_name(stated.certificate_sha256)
    key = tmp_path / "key.pem"

    def openssl(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)

    # The documented commands (docs/audit.md, "Checking a checkpoint with openssl").
    assert openssl("x509", "-in", str(chain), "-pubkey", "-noout", "-out", str(key)).returncode == 0
    root = tmp_path / "root.pem"
    pems = chain.read_text().split("-----END CERTIFICATE-----\n")
    root.write_text(pems[-2] + "-----END CERTIFICATE-----\n")
    verified = openssl("verify", "-CAfile", str(root), "-untrusted", str(chain), str(chain))
    assert verified.returncode == 0, verified.stderr
    fingerprint = openssl("x509", "-in", str(chain), "-noout", "-fingerprint", "-sha256")
    assert fingerprint.stdout.split("=")[1].strip().replace(":", "").lower() == (
        stated.certificate_sha256
    )
    signature = checkpoint.path.with_suffix(".sig")
    good = openssl(
        "dgst", "-sha256", "-verify", str(key), "-signature", str(signature), str(checkpoint.path)
    )
    assert good.stdout.strip() == "Verified OK"
    forged = tmp_path / checkpoint.path.name
    forged.write_bytes(checkpoint.path.read_bytes().replace(b"sequence: ", b"sequence: 1"))
    bad = openssl("dgst", "-sha256", "-verify", str(key), "-signature", str(signature), str(forged))
    assert bad.returncode != 0
    assert "Verification failure" in bad.stdout + bad.stderr


def test_before_the_pki_is_bootstrapped_the_beat_task_writes_nothing_and_says_why(db, caplog):
    _write(2)
    assert audit_checkpoint.apply().get() is None
    assert "no audit checkpoint: no authentication CA yet" in caplog.text
    assert not AuditCheckpoint.objects.exists()
