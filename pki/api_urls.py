"""API routes of the PKI, included under /api/v1/ by config/urls.py."""

from django.urls import path

from pki import api

urlpatterns = [
    path("cas/", api.CaListApi.as_view(), name="api-ca-list"),
    path("cas/<slug:slug>/", api.CaDetailApi.as_view(), name="api-ca-detail"),
    path("certificates/", api.CertificateListApi.as_view(), name="api-certificate-list"),
    path(
        "certificates/revocation-requests/",
        api.RevocationRequestListApi.as_view(),
        name="api-revocation-request-list",
    ),
    path(
        "certificates/revocation-requests/<id:pk>/",
        api.RevocationRequestDetailApi.as_view(),
        name="api-revocation-request-detail",
    ),
    path(
        "certificates/revocation-requests/<id:pk>/approve/",
        api.RevocationRequestApproveApi.as_view(),
        name="api-revocation-request-approve",
    ),
    path(
        "certificates/revocation-requests/<id:pk>/reject/",
        api.RevocationRequestRejectApi.as_view(),
        name="api-revocation-request-reject",
    ),
    path(
        "certificates/revocation-requests/<id:pk>/cancel/",
        api.RevocationRequestCancelApi.as_view(),
        name="api-revocation-request-cancel",
    ),
    path(
        "certificates/<id:pk>/", api.CertificateDetailApi.as_view(), name="api-certificate-detail"
    ),
    path(
        "certificates/<id:pk>/revoke/",
        api.CertificateRevokeApi.as_view(),
        name="api-certificate-revoke",
    ),
]
