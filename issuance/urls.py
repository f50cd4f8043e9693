from django.urls import path

from issuance.views import card_requests, dashboard, professionals

urlpatterns = [
    path("", dashboard.dashboard_view, name="dashboard"),
    path("professionals/", professionals.professional_list_view, name="professional-list"),
    path("professionals/new/", professionals.professional_create_view, name="professional-create"),
    path(
        "professionals/import/",
        professionals.professional_import_view,
        name="professional-import",
    ),
    path(
        "professionals/<id:pk>/",
        professionals.professional_detail_view,
        name="professional-detail",
    ),
    path(
        "professionals/<id:pk>/edit/",
        professionals.professional_edit_view,
        name="professional-edit",
    ),
    path(
        "professionals/<id:pk>/photo/",
        professionals.professional_photo_view,
        name="professional-photo",
    ),
    path(
        "professionals/<id:professional_pk>/request-card/",
        card_requests.card_request_submit_view,
        name="card-request-submit",
    ),
    path("organisations/", professionals.organisation_list_view, name="organisation-list"),
    path("requests/", card_requests.card_request_list_view, name="card-request-list"),
    path("requests/<id:pk>/", card_requests.card_request_detail_view, name="card-request-detail"),
    path(
        "requests/<id:pk>/approve/",
        card_requests.card_request_approve_view,
        name="card-request-approve",
    ),
    path(
        "requests/<id:pk>/reject/",
        card_requests.card_request_reject_view,
        name="card-request-reject",
    ),
    path(
        "requests/<id:pk>/cancel/",
        card_requests.card_request_cancel_view,
        name="card-request-cancel",
    ),
]
