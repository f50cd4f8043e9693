"""Relying-party endpoints, included under /pki/ (see config/urls.py)."""

from django.urls import path

from pki import views

app_name = "pki"

urlpatterns = [
    path("ca/<slug:slug>.crt", views.ca_certificate, name="ca-certificate"),
    path("crl/<slug:slug>.crl", views.crl, name="crl"),
    path("ocsp/<slug:slug>/", views.ocsp_post, name="ocsp"),
    path("ocsp/<slug:slug>/<path:encoded>", views.ocsp_get, name="ocsp-get"),
]
