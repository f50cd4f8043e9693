"""pki_bootstrap: the hierarchy once, its structure, its audit events, responder renewal."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.events import EventType
from audit.models import AuditEvent
from audit.selectors import audit_chain_verify
from config.errors import ValidationFailed
from pki.models import (
    Certificate,
    CertificateAuthority,
    CertificateRevocationList,
    MasterKey,
    OcspResponder,
)
from pki.services.cas import ocsp_responders_renew_due, pki_bootstrap


def _load(ca: CertificateAuthority) -> x509.Certificate:
    return x509.load_der_x509_certificate(bytes(ca.certificate_der))


def test_bootstrap_builds_the_hierarchy_once(db, settings):
    result = pki_bootstrap(backend="software")
    assert result.changed
    root = result.root
    authentication = result.issuing["authentication"]
    qualified = result.issuing["qualified-signature"]
    assert root.is_root
    assert root.purpose == "root"
    assert not root.is_current
    assert authentication.parent == root
    assert qualified.parent == root
    assert authentication.is_current
    assert qualified.is_current
    assert root.key_algorithm == settings.PKI_HIERARCHY["root"]["algorithm"]

    root_certificate = _load(root)
    root_certificate.verify_directly_issued_by(root_certificate)
    constraints = root_certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca
    assert constraints.value.path_length is None
    for issuing in (authentication, qualified):
        certificate = _load(issuing)
        certificate.verify_directly_issued_by(root_certificate)
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
        assert constraints.ca
        assert constraints.path_length == 0
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        assert usage.key_cert_sign
        assert usage.crl_sign
        assert not usage.digital_signature
        assert certificate.not_valid_after_utc <= root_certificate.not_valid_after_utc
        assert issuing.name in certificate.subject.rfc4514_string()
        responder = OcspResponder.objects.get(ca=issuing, is_current=True)
        assert responder.certificate.profile == Certificate.Profile.OCSP_RESPONDER
        assert responder.certificate.professional is None
        assert CertificateRevocationList.objects.get(ca=issuing).number == 1
    assert CertificateRevocationList.objects.get(ca=root).entries == 0
    assert MasterKey.objects.get().key_backend == "software"

    events = list(AuditEvent.objects.values_list("event", flat=True))
    assert events.count(EventType.CA_CREATED) == 3
    assert events.count(EventType.OCSP_RESPONDER_CREATED) == 2
    assert events.count(EventType.CRL_GENERATED) == 3
    assert events.count(EventType.MASTER_KEY_CREATED) == 1
    assert audit_chain_verify().intact

    again = pki_bootstrap(backend="software")
    assert not again.changed
    assert again.root == root
    assert AuditEvent.objects.count() == len(events)


def test_unknown_backend_is_refused_naming_the_field(db):
    with pytest.raises(ValidationFailed) as caught:
        pki_bootstrap(backend="vault")
    assert caught.value.errors[0].field == "backend"
    assert not CertificateAuthority.objects.exists()


def test_bad_hierarchy_is_refused(db, settings):
    hierarchy = {
        **settings.PKI_HIERARCHY,
        "root": {**settings.PKI_HIERARCHY["root"], "algorithm": "dsa"},
    }
    with pytest.raises(ValidationFailed) as caught:
        pki_bootstrap(backend="software", hierarchy=hierarchy)
    assert caught.value.errors[0].field == "hierarchy.root.algorithm"


def test_a_second_hierarchy_is_not_current(pki):
    assert not pki.software.root.is_current
    if pki.pkcs11 is not None:
        assert not pki.pkcs11.authentication.is_current
    with pytest.raises(IntegrityError), transaction.atomic():
        CertificateAuthority.objects.filter(slug="hsm-authentication").update(is_current=True)


def test_responder_close_to_expiry_is_renewed(pki):
    ca = pki.software.authentication
    old = OcspResponder.objects.get(ca=ca, is_current=True)
    assert ocsp_responders_renew_due() == []
    Certificate.objects.filter(pk=old.certificate_id).update(
        not_before=timezone.now() - dt.timedelta(days=360),
        not_after=timezone.now() + dt.timedelta(days=5),
    )
    renewed = ocsp_responders_renew_due()
    assert [responder.ca for responder in renewed] == [ca]
    old.refresh_from_db()
    assert not old.is_current
    assert OcspResponder.objects.get(ca=ca, is_current=True).certificate.not_after > (
        timezone.now() + dt.timedelta(days=300)
    )
