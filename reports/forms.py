from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone

from cardprofiles.models import CardProfile
from issuance.models import Organisation
from personalization.models import EncoderStation

DEFAULT_DAYS = 30


class PeriodForm(forms.Form):
    """A report's period and filters; dates in the deployment's time zone, both included."""

    start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    organisation = forms.ModelChoiceField(
        Organisation.objects.order_by("name"), required=False, empty_label="All organisations"
    )
    profile = forms.ModelChoiceField(
        CardProfile.objects.order_by("name"),
        required=False,
        empty_label="All card profiles",
        to_field_name="name",
    )
    station = forms.ModelChoiceField(
        EncoderStation.objects.order_by("name"),
        required=False,
        empty_label="All stations",
        to_field_name="name",
    )

    @classmethod
    def initial_period(cls) -> dict:
        today = timezone.localdate()
        return {"start": today - dt.timedelta(days=DEFAULT_DAYS - 1), "end": today}

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", "The end must not be before the start.")
        if start and start > timezone.localdate():
            self.add_error("start", "The start must not be in the future.")
        return data
