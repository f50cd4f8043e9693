from django.urls import path

from issuance.api import card_requests, professionals

urlpatterns = [
    path("professionals/", professionals.ProfessionalListCreateAPI.as_view()),
    path("professionals/import/", professionals.ProfessionalImportAPI.as_view()),
    path("professionals/<int:pk>/", professionals.ProfessionalDetailAPI.as_view()),
    path("organisations/", professionals.OrganisationListCreateAPI.as_view()),
    path("organisations/<int:pk>/", professionals.OrganisationDetailAPI.as_view()),
    path("card-requests/", card_requests.CardRequestListCreateAPI.as_view()),
    path("card-requests/<int:pk>/", card_requests.CardRequestDetailAPI.as_view()),
    path("card-requests/<int:pk>/approve/", card_requests.CardRequestApproveAPI.as_view()),
    path("card-requests/<int:pk>/reject/", card_requests.CardRequestRejectAPI.as_view()),
    path("card-requests/<int:pk>/cancel/", card_requests.CardRequestCancelAPI.as_view()),
]
