"""What every API view shares: pagination, permission by role, and one error shape.

Every error answer is `{"code": ..., "message": ..., "errors": [{"field": ..., "message": ...}]}`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404
from django.views import defaults
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from config.errors import DomainError


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


class HasPermission(BasePermission):
    """Allows a view to users holding `view.required_permissions[request.method or '*']`.

    Views declare e.g. `required_permissions = {"GET": "issuance.view_professional",
    "POST": "issuance.add_professional"}`; a missing entry falls back to `"*"`.
    """

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        needed = getattr(view, "required_permissions", {})
        perm = needed.get(request.method, needed.get("*"))
        if perm is None:
            return False
        return request.user.has_perm(perm)


def _flatten(detail, prefix: str = "") -> list[dict]:
    """DRF's nested error detail to a flat list of {field, message} with dotted field names."""
    if isinstance(detail, dict):
        items = []
        for key, value in detail.items():
            name = prefix if key == "non_field_errors" else (f"{prefix}.{key}" if prefix else key)
            items.extend(_flatten(value, name))
        return items
    if isinstance(detail, list):
        items = []
        for index, value in enumerate(detail):
            if isinstance(value, dict | list):
                items.extend(_flatten(value, f"{prefix}.{index}" if prefix else str(index)))
            else:
                items.extend(_flatten(value, prefix))
        return items
    return [{"field": prefix or None, "message": str(detail)}]


def error_response(code: str, message: str, errors: list[dict], http_status: int) -> Response:
    return Response({"code": code, "message": message, "errors": errors}, status=http_status)


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return error_response(
            exc.code, exc.message, [error.as_dict() for error in exc.errors], exc.status
        )
    if isinstance(exc, RequestDataTooBig):
        return error_response("request_too_large", "The request body is too large.", [], 413)
    if isinstance(exc, SuspiciousOperation):
        # Django's own answer would be a bare HTML 400 (e.g. too many form fields).
        return error_response("bad_request", "The request is malformed.", [], 400)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        first = errors[0] if errors else {"field": None, "message": "invalid input"}
        message = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
        return error_response("validation_error", message, errors, status.HTTP_400_BAD_REQUEST)
    code = getattr(exc, "default_code", "error")
    if isinstance(exc, exceptions.APIException):
        detail = exc.detail
        code = detail.code if hasattr(detail, "code") else code
        message = str(detail)
    else:
        message = str(exc)
    response.data = {"code": code, "message": message, "errors": []}
    return response


class ServiceAPIView(APIView):
    """Base for API views: authenticated, permission per HTTP method, errors in one shape."""

    permission_classes = [HasPermission]
    required_permissions: dict[str, str] = {}

    def paginate(self, request, queryset, serializer_class):
        paginator = Pagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(serializer_class(page, many=True).data)


class DecisionInput(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class DecisionAPIView(ServiceAPIView):
    """The API side of four eyes (config/four_eyes.py): POST a note to approve, reject or
    withdraw one request of `model`. `service` decides (it is called with the request as
    `object_name`, `by` and the input's fields), `output` serializes what it returns. A
    subclass per operation names them and its permission, and gives its schema with
    `extend_schema_view(post=extend_schema(request=..., responses=...))`."""

    model: type[Model]
    service: Callable[..., Any]
    output: type[serializers.BaseSerializer]
    object_name: str = ""
    input_class: type[serializers.BaseSerializer] = DecisionInput

    def post(self, request, pk: int):
        data = self.input_class(data=request.data)
        data.is_valid(raise_exception=True)
        row = get_object_or_404(self.model, pk=pk)
        decided = type(self).service(
            **{self.object_name: row}, by=request.user, **data.validated_data
        )
        return Response(self.output(decided).data)


def not_found(request, exception):
    """handler404: under /api/ a URL that matches no route answers in the API's error shape."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"code": "not_found", "message": "No such resource.", "errors": []}, status=404
        )
    return defaults.page_not_found(request, exception)
