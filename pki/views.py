"""Relying-party endpoints: CA certificates, CRLs and OCSP. Public: no login, no CSRF, no
session; each answers from the database in one or two queries."""

from __future__ import annotations

import base64
import binascii
import logging
from urllib.parse import unquote

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.http import http_date
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from pki.models import CertificateAuthority
from pki.selectors import crl_current
from pki.services.ocsp import MAX_REQUEST_BYTES, ocsp_respond

logger = logging.getLogger(__name__)

OCSP_RESPONSE_TYPE = "application/ocsp-response"  # RFC 6960 Appendix C.2


@require_GET
def ca_certificate(request: HttpRequest, slug: str) -> HttpResponse:
    """The CA certificate, DER (RFC 5280 §4.2.2.1: caIssuers serves application/pkix-cert)."""
    der = CertificateAuthority.objects.filter(slug=slug).values_list("certificate_der", flat=True)
    found = der.first()
    if found is None:
        raise Http404("no such CA")
    response = HttpResponse(bytes(found), content_type="application/pkix-cert")
    response["Content-Disposition"] = f'attachment; filename="{slug}.crt"'
    response["Cache-Control"] = "public, max-age=86400"
    return response


@require_GET
def crl(request: HttpRequest, slug: str) -> HttpResponse:
    """The CA's current CRL, DER (RFC 5280 §4.2.1.13, media type per RFC 2585)."""
    current = crl_current(ca_slug=slug)
    if current is None:
        raise Http404("no CRL for this CA")
    response = HttpResponse(bytes(current.der), content_type="application/pkix-crl")
    response["Content-Disposition"] = f'attachment; filename="{slug}.crl"'
    response["Last-Modified"] = http_date(current.this_update.timestamp())
    response["Expires"] = http_date(current.next_update.timestamp())
    # Revocations regenerate the CRL at once: caches must come back rather than keep it until
    # nextUpdate.
    response["Cache-Control"] = "no-cache"
    response["ETag"] = f'"{current.sha256}"'
    return response


def _ocsp_response(slug: str, request_der: bytes) -> HttpResponse:
    answer = ocsp_respond(ca_slug=slug, request_der=request_der)
    response = HttpResponse(answer.der, content_type=OCSP_RESPONSE_TYPE)
    response["Cache-Control"] = "no-cache"
    return response


@csrf_exempt
@require_http_methods(["POST"])
def ocsp_post(request: HttpRequest, slug: str) -> HttpResponse:
    """RFC 6960 Appendix A.1: POST with Content-Type application/ocsp-request."""
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    body = b"" if length > MAX_REQUEST_BYTES else request.body
    return _ocsp_response(slug, body)


@require_GET
def ocsp_get(request: HttpRequest, slug: str, encoded: str) -> HttpResponse:
    """RFC 6960 Appendix A.1: GET {url}/{url-encoding of base-64 encoding of the DER request}."""
    text = unquote(encoded).strip()
    # Tolerate the URL-safe alphabet, and a "+" a proxy turned into a space.
    text = text.replace("-", "+").replace("_", "/").replace(" ", "+")
    try:
        request_der = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        request_der = b""  # answered malformedRequest, as any other undecodable request
    return _ocsp_response(slug, request_der)
