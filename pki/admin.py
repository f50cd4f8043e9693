"""Read-only admin pages: CAs and certificates change through services (bootstrap_pki, the
four-eyes API), never by editing rows. Software keys have no admin page at all."""

from django.contrib import admin

from config.admin_base import ReadOnlyAdmin
from pki.models import (
    Certificate,
    CertificateAuthority,
    CertificateRevocationList,
    OcspResponder,
    RevocationRequest,
)


@admin.register(CertificateAuthority)
class CertificateAuthorityAdmin(ReadOnlyAdmin):
    list_display = ["slug", "name", "purpose", "parent", "is_current", "key_backend", "not_after"]
    list_filter = ["purpose", "key_backend", "is_current"]
    exclude = ["certificate_der", "key_handle"]


@admin.register(Certificate)
class CertificateAdmin(ReadOnlyAdmin):
    list_display = ["serial", "ca", "profile", "professional", "status", "not_after"]
    list_filter = ["status", "profile", "ca"]
    search_fields = ["serial", "subject", "professional__rpps", "fingerprint_sha256"]
    exclude = ["der", "crl_entry"]


@admin.register(RevocationRequest)
class RevocationRequestAdmin(ReadOnlyAdmin):
    list_display = ["pk", "certificate", "reason", "status", "requested_by", "decided_by"]
    list_filter = ["status", "reason"]


@admin.register(CertificateRevocationList)
class CertificateRevocationListAdmin(ReadOnlyAdmin):
    list_display = ["ca", "number", "entries", "this_update", "next_update"]
    exclude = ["der"]


@admin.register(OcspResponder)
class OcspResponderAdmin(ReadOnlyAdmin):
    list_display = ["ca", "certificate", "is_current", "key_backend", "created_at"]
    exclude = ["key_handle"]
