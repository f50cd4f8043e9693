"""Middleware that turns malformed HTTP framing into a 400 before any view reads the body."""

from __future__ import annotations

import re

from django.http import HttpResponseBadRequest, JsonResponse

_DIGITS = re.compile(r"[0-9]+\Z")


class ContentLengthMiddleware:
    """RFC 9110 §8.6: Content-Length is 1*DIGIT. Django's `request.body` calls int() on it and
    answers "abc" with a 500; a negative length reaches the multipart parser. Refused here, first
    in MIDDLEWARE, with the API's error shape under /api/."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        length = request.META.get("CONTENT_LENGTH")
        if length and not _DIGITS.match(length):
            message = "Content-Length must be a non-negative whole number of bytes"
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {
                        "code": "bad_request",
                        "message": f"Content-Length: {message}",
                        "errors": [{"field": "Content-Length", "message": message}],
                    },
                    status=400,
                )
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
