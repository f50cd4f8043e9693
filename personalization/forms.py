from django import forms

from issuance.models import CardRequest
from personalization.models import EncoderStation
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
