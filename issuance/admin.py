"""Read-only admin views of the registry: changes go through the back office and its services,
which validate them and write the audit trail."""

from django.contrib import admin

from config.admin_base import ReadOnlyAdmin
from issuance.models import Organisation, Professional


@admin.register(Organisation)
class OrganisationAdmin(ReadOnlyAdmin):
    list_display = ("finess", "name", "created_at")
    search_fields = ("finess", "name")


@admin.register(Professional)
class ProfessionalAdmin(ReadOnlyAdmin):
    list_display = ("rpps", "last_name", "first_name", "profession", "organisation", "city")
    list_filter = ("profession",)
    search_fields = ("rpps", "last_name", "first_name", "email")
