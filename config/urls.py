from django.contrib import admin
from django.urls import include, path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config.converters import IdConverter

# Before the includes below import the apps' URLs, which use <id:pk> (a bounded primary key).
register_converter(IdConverter, "id")
handler404 = "config.api.not_found"

api_v1 = [
    path("", include("accounts.api")),
    path("", include("accounts.api_privileged")),
    path("", include("issuance.api.urls")),
    path("", include("cards.api.urls")),
    path("", include("cardprofiles.api")),
    path("", include("audit.api")),
    path("", include("reports.api")),
    path("", include("personalization.api.urls")),
]

urlpatterns = [
    path("", include("issuance.urls")),
    path("", include("cards.urls")),
    path("", include("accounts.urls")),
    path("", include("personalization.urls")),
    path("profiles/", include("cardprofiles.urls")),
    path("audit/", include("audit.urls")),
    path("reports/", include("reports.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

# --- PKI (pki/, docs/pki.md): relying-party endpoints and the PKI API --------------------------
urlpatterns += [
    path("pki/", include("pki.urls")),
    path("api/v1/", include("pki.api_urls")),
]
