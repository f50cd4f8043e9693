"""bootstrap_pki, revoke_certificate, generate_crls as an administrator runs them."""

from __future__ import annotations

import pytest
from cryptography import x509
from django.core.management import CommandError, call_command

from audit.events import EventType
from audit.models import AuditEvent
from pki.models import Certificate, CertificateAuthority, CertificateRevocationList, OcspResponder


def test_bootstrap_pki_creates_once_then_changes_nothing(db, capsys):
    call_command("bootstrap_pki", "--backend", "software")
    first = capsys.readouterr().out
    assert "created root CA root" in first
    assert "created card-management master key in software" in first
    counts = (
        CertificateAuthority.objects.count(),
        OcspResponder.objects.count(),
        CertificateRevocationList.objects.count(),
        AuditEvent.objects.count(),
    )
    assert counts[:3] == (3, 2, 3)
    call_command("bootstrap_pki", "--backend", "software")
    second = capsys.readouterr().out
    assert "already bootstrapped; nothing changed" in second
    assert (
        CertificateAuthority.objects.count(),
        OcspResponder.objects.count(),
        CertificateRevocationList.objects.count(),
        AuditEvent.objects.count(),
    ) == counts
    assert "http://pki.example.org/pki/ocsp/authentication/" in second


def test_bootstrap_pki_refuses_an_unknown_backend(db):
    with pytest.raises(CommandError, match="--backend"):
        call_command("bootstrap_pki", "--backend", "vault")


def test_revoke_certificate_is_an_audited_emergency_action(
    pki, professional, subject_keys, capsys, django_capture_on_commit_callbacks
):
    from pki.services.certificates import certificate_issue

    row = certificate_issue(
        public_key=subject_keys["ec"].public_key(),
        profile="hp-authentication",
        professional=professional,
    )
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "revoke_certificate",
            row.serial.lower(),
            "--reason",
            "keyCompromise",
            "--comment",
            "card stolen",
        )
    row.refresh_from_db()
    assert row.status == Certificate.Status.REVOKED
    event = AuditEvent.objects.for_object(row).filter(event=EventType.CERTIFICATE_REVOKED).get()
    assert event.payload["emergency"] is True
    assert "card stolen" in event.payload["comment"]
    assert "command line" in event.payload["comment"]
    assert "emergency action" in capsys.readouterr().out
    crl = x509.load_der_x509_crl(bytes(CertificateRevocationList.objects.get(ca=row.ca).der))
    assert crl.get_revoked_certificate_by_serial_number(row.serial_number) is not None

    with pytest.raises(CommandError, match="already revoked"):
        call_command("revoke_certificate", row.serial, "--reason", "superseded")
    with pytest.raises(CommandError, match="--reason: unknown revocation reason"):
        call_command("revoke_certificate", row.serial, "--reason", "stolen")
    with pytest.raises(CommandError, match="no certificate with serial"):
        call_command("revoke_certificate", "ABCDEF", "--reason", "superseded")
    with pytest.raises(CommandError, match="SERIAL: 'zz' is not a hexadecimal"):
        call_command("revoke_certificate", "zz", "--reason", "superseded")


def test_generate_crls(pki, capsys):
    numbers = dict(CertificateRevocationList.objects.values_list("ca__slug", "number"))
    call_command("generate_crls")
    output = capsys.readouterr().out
    for slug, number in numbers.items():
        assert f"{slug}" in output
        assert CertificateRevocationList.objects.get(ca__slug=slug).number == number + 1
    call_command("generate_crls", "--ca", "root")
    assert CertificateRevocationList.objects.get(ca__slug="root").number == numbers["root"] + 2
    with pytest.raises(CommandError, match="--ca: no CA 'nope'"):
        call_command("generate_crls", "--ca", "nope")
