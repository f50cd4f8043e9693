"""Middleware that turns malformed HTTP framing into a 400 before any view reads the body."""

from __future__ import annotations

import re

from django.conf import settings
from django.http import HttpResponse, JsonResponse

_DIGITS = re.compile(r"[0-9]+\Z")


# Multipart framing around the largest file a request may carry.
_MULTIPART_SLACK = 1024 * 1024


def max_request_bytes() -> int:
    """The largest body any endpoint takes: a CSV import or a JSON/form body, plus framing."""
    return (
        max(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0, settings.CARDFORGE_IMPORT_MAX_BYTES)
        + _MULTIPART_SLACK
    )


def _refuse(request, status: int, code: str, message: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse(
            {
                "code": code,
                "message": f"Content-Length: {message}",
                "errors": [{"field": "Content-Length", "message": message}],
            },
            status=status,
        )
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


class ContentLengthMiddleware:
    """RFC 9110 §8.6: Content-Length is 1*DIGIT. Django's `request.body` calls int() on it and
    answers "abc" with a 500; a negative length reaches the multipart parser. Refused here, first
    in MIDDLEWARE (400), with the API's error shape under /api/. A length beyond what any
    endpoint takes is refused (413) before a byte is read or spooled to a temporary file."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        length = request.META.get("CONTENT_LENGTH")
        if length:
            if not _DIGITS.match(length):
                message = "must be a non-negative whole number of bytes"
                return _refuse(request, 400, "bad_request", message)
            limit = max_request_bytes()
            if len(length) > 19 or int(length) > limit:
                message = f"the body may be at most {limit} bytes"
                return _refuse(request, 413, "request_too_large", message)
        return self.get_response(request)
