from django.urls import path

from issuance.views import professionals

urlpatterns = [
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
    path("organisations/", professionals.organisation_list_view, name="organisation-list"),
]
