"""Read-only admin pages of encoder stations: adding and changing one goes through the back
office (/stations/) and its services, which validate it, keep at most one station taking
approved requests, and write the audit trail. Each row links to the back office's edit page."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from config.admin_base import ReadOnlyAdmin
from personalization.models import EncoderStation


@admin.register(EncoderStation)
class EncoderStationAdmin(ReadOnlyAdmin):
    list_display = [
        "name",
        "transport",
        "reader_pattern",
        "is_enabled",
        "takes_approved_requests",
        "status",
        "heartbeat_at",
        "change_in_back_office",
    ]
    list_filter = ["transport", "is_enabled"]
    search_fields = ["name", "description", "reader_pattern"]

    @admin.display(description="change")
    def change_in_back_office(self, station: EncoderStation) -> str:
        return format_html(
            '<a href="{}">edit, disable or enable</a>', reverse("station-edit", args=[station.pk])
        )
