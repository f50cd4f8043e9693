from django.urls import path

from issuance.api import professionals

urlpatterns = [
    path("professionals/", professionals.ProfessionalListCreateAPI.as_view()),
    path("professionals/import/", professionals.ProfessionalImportAPI.as_view()),
    path("professionals/<id:pk>/", professionals.ProfessionalDetailAPI.as_view()),
    path("organisations/", professionals.OrganisationListCreateAPI.as_view()),
    path("organisations/<id:pk>/", professionals.OrganisationDetailAPI.as_view()),
]
