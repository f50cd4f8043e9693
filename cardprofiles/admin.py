"""Administrators create and edit card profiles here, as YAML. Every save goes through the
service: the definition is validated against the schema and stored as a new version."""

import yaml
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from cardprofiles.models import CardProfile, CardProfileVersion
from cardprofiles.schema import parse_yaml
from cardprofiles.services.versions import (
    card_profile_edit,
    card_profile_save_definition,
    card_profile_set_active,
)
from config.errors import ValidationFailed


class CardProfileForm(forms.ModelForm):
    definition_yaml = forms.CharField(
        label="Definition (YAML)",
        widget=forms.Textarea(attrs={"rows": 30, "cols": 100, "style": "font-family: monospace"}),
        help_text="Saving a changed definition creates a new version; used versions never change.",
    )

    class Meta:
        model = CardProfile
        fields = ["is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = self.instance.current_version if self.instance.pk else None
        if current is not None:
            self.fields["definition_yaml"].initial = yaml.safe_dump(
                current.definition, sort_keys=False, allow_unicode=True
            )

    def clean_definition_yaml(self):
        try:
            definition = parse_yaml(self.cleaned_data["definition_yaml"], source="definition")
        except ValidationFailed as error:
            messages_ = [f"{item.field}: {item.message}" for item in error.errors]
            raise ValidationError(messages_) from None
        if self.instance.pk and definition["name"] != self.instance.name:
            raise ValidationError(f"name: must stay {self.instance.name!r}")
        return definition


@admin.register(CardProfile)
class CardProfileAdmin(admin.ModelAdmin):
    form = CardProfileForm
    list_display = ("name", "display_name", "is_active", "created_at")
    readonly_fields = ("name", "display_name")

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        definition = form.cleaned_data["definition_yaml"]
        if change:
            result = card_profile_edit(profile=obj, definition=definition, by=request.user)
            card_profile_set_active(profile=obj, active=obj.is_active, by=request.user)
        else:
            result = card_profile_save_definition(
                definition=definition, by=request.user, source="admin"
            )
        obj.pk = result.version.profile.pk
        obj.refresh_from_db()
        if result.created:
            messages.info(request, f"Saved as {result.version}.")
        else:
            messages.info(request, "The definition did not change; no new version was made.")


@admin.register(CardProfileVersion)
class CardProfileVersionAdmin(admin.ModelAdmin):
    list_display = ("profile", "number", "digest", "source", "created_at")
    list_filter = ("profile",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
