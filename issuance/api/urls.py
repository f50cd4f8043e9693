from django.urls import path

from issuance.api import card_requests, professionals

urlpatterns = [
    path("professionals/", professionals.ProfessionalListCreateAPI.as_view()),
    path("professionals/import/", professionals.ProfessionalImportAPI.as_view()),
    path("professionals/<id:pk>/", professionals.ProfessionalDetailAPI.as_view()),
    path("organisations/", professionals.OrganisationListCreateAPI.as_view()),
    path("organisations/<id:pk>/", professionals.OrganisationDetailAPI.as_view()),
    path("card-requests/", card_requests.CardRequestListCreateAPI.as_view()),
    path("card-requests/<id:pk>/", card_requests.CardRequestDetailAPI.as_view()),
    path("card-requests/<id:pk>/approve/", card_requests.CardRequestApproveAPI.as_view()),
    path("card-requests/<id:pk>/reject/", card_requests.CardRequestRejectAPI.as_view()),
    path("card-requests/<id:pk>/cancel/", card_requests.CardRequestCancelAPI.as_view()),
]
