"""Read-only admin pages: changes go through the back office and its services."""

from django.contrib import admin

from cards.models import CardRequest
from config.admin_base import ReadOnlyAdmin


@admin.register(CardRequest)
class CardRequestAdmin(ReadOnlyAdmin):
    list_display = ("pk", "professional", "card_profile", "status", "submitted_by", "decided_by")
    list_filter = ("status", "card_profile")
    search_fields = ("professional__rpps", "professional__last_name")
