"""API routes of the PKI, included under /api/v1/ by config/urls.py."""

from django.urls import path

from pki import api

urlpatterns = [
    path("cas/", api.CaListAPI.as_view(), name="api-ca-list"),
    path("cas/<slug:slug>/", api.CaDetailAPI.as_view(), name="api-ca-detail"),
    path("certificates/", api.CertificateListAPI.as_view(), name="api-certificate-list"),
    path(
        "certificates/revocation-requests/",
        api.RevocationRequestListAPI.as_view(),
        name="api-revocation-request-list",
    ),
    path(
        "certificates/revocation-requests/<id:pk>/",
        api.RevocationRequestDetailAPI.as_view(),
        name="api-revocation-request-detail",
    ),
    path(
        "certificates/revocation-requests/<id:pk>/approve/",
        api.RevocationRequestApproveAPI.as_view(),
        name="api-revocation-request-approve",
    ),
    path(
        "certificates/revocation-requests/<id:pk>/reject/",
        api.RevocationRequestRejectAPI.as_view(),
        name="api-revocation-request-reject",
    ),
    path(
        "certificates/revocation-requests/<id:pk>/cancel/",
        api.RevocationRequestCancelAPI.as_view(),
        name="api-revocation-request-cancel",
    ),
    path(
        "certificates/<id:pk>/", api.CertificateDetailAPI.as_view(), name="api-certificate-detail"
    ),
    path(
        "certificates/<id:pk>/revoke/",
        api.CertificateRevokeAPI.as_view(),
        name="api-certificate-revoke",
    ),
]
