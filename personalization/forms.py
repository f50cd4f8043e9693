from django import forms

from cards.models import CardRequest
from personalization.models import EncoderStation, PrintPlacement, PrintSides
from personalization.selectors import stations_for_queueing
from personalization.services.jobs import ABANDON_REASON_MAX_LENGTH


class StationForm(forms.Form):
    """Text in; station_create validates and names each bad field."""

    name = forms.CharField(
        max_length=50, help_text="Lower-case letters, digits and dashes; its queue is station.NAME"
    )
    transport = forms.ChoiceField(choices=EncoderStation.Transport.choices)
    reader_pattern = forms.CharField(
        label="PC/SC reader",
        max_length=200,
        required=False,
        help_text="PC/SC only: the reader's name, or a regular expression matching it",
    )
    description = forms.CharField(max_length=200, required=False)
    takes_approved_requests = forms.BooleanField(
        label="Queue approved requests here automatically", required=False
    )


class StationEditForm(forms.Form):
    """What an administrator may change of a station (name and transport are shown, not
    edited); station_update validates and names each bad field. The view passes on only the
    fields that differ from the station's values (`changed_data`)."""

    description = forms.CharField(max_length=200, required=False)
    reader_pattern = forms.CharField(
        label="PC/SC reader",
        max_length=200,
        required=False,
        help_text="PC/SC only: the reader's name, or a regular expression matching it",
    )
    is_enabled = forms.BooleanField(
        label="Enabled: takes new jobs",
        required=False,
        help_text="Unticked: the station takes no new job and no longer takes approved "
        "requests; the job it is running finishes, waiting jobs wait until it is enabled again.",
    )
    takes_approved_requests = forms.BooleanField(
        label="Queue approved requests here automatically",
        required=False,
        help_text="Moves this from the station that has it: one station at most.",
    )

    printer_uri = forms.CharField(
        label="Card printer",
        max_length=200,
        required=False,
        help_text="ipp://host:631/ipp/print, ipps://…, or the name of a CUPS queue on the "
        "station's host; empty: the station has no printer.",
    )
    printer_sides = forms.ChoiceField(label="Sides", choices=PrintSides.choices, required=False)
    printer_color = forms.ChoiceField(
        label="Colour",
        choices=[("yes", "Colour"), ("no", "Monochrome")],
        required=False,
    )
    printer_placement = forms.ChoiceField(
        label="Prints", choices=PrintPlacement.choices, required=False
    )

    def _kept(self, name: str):
        """A printer choice left out of the form keeps the station's value."""
        return self.cleaned_data.get(name) or self.initial.get(name)

    def clean_printer_sides(self):
        return self._kept("printer_sides")

    def clean_printer_placement(self):
        return self._kept("printer_placement")

    def clean_printer_color(self):
        value = self.cleaned_data.get("printer_color")
        return self.initial.get("printer_color") if not value else value == "yes"

    def has_changed_field(self, name: str) -> bool:
        return self.cleaned_data.get(name) != self.initial.get(name)

    @classmethod
    def for_station(cls, station: EncoderStation, data=None) -> "StationEditForm":
        return cls(
            data,
            initial={
                "description": station.description,
                "reader_pattern": station.reader_pattern,
                "is_enabled": station.is_enabled,
                "takes_approved_requests": station.takes_approved_requests,
                "printer_uri": station.printer_uri,
                "printer_sides": station.printer_sides,
                "printer_color": station.printer_color,
                "printer_placement": station.printer_placement,
            },
        )


class StationChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, station) -> str:
        return f"{station.name} ({station.transport}, {station.status})"


def _station_field() -> StationChoiceField:
    # The queryset is evaluated per form, so a new or disabled station shows at once.
    return StationChoiceField(
        queryset=stations_for_queueing(), to_field_name="name", empty_label=None
    )


class QueueForm(forms.Form):
    station = _station_field()


class BatchRequestsForm(forms.Form):
    """Requests ticked on the card request list, for a bulk action."""

    requests = forms.ModelMultipleChoiceField(
        queryset=CardRequest.objects.all(),
        error_messages={"required": "Tick at least one card request."},
    )


class BatchQueueForm(BatchRequestsForm):
    station = _station_field()


class AbandonJobForm(forms.Form):
    """Text in; job_abandon checks the reason again (and everything else)."""

    reason = forms.CharField(
        label="Reason",
        max_length=ABANDON_REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why its worker will never come back, e.g. “station desk-3 decommissioned”. "
        "Kept as the job's error and in the audit trail.",
    )
