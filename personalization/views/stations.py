"""Encoder stations: the list everyone with a role reads; administrators add, edit, disable and
enable them (station_create, station_update)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from config.errors import DomainError
from config.views import show_domain_error
from personalization.forms import StationEditForm, StationForm
from personalization.models import EncoderStation
from personalization.selectors import station_current_job, station_list
from personalization.services.stations import (
    STATION_CHANGEABLE,
    station_create,
    station_update,
)

_LABELS = {
    "description": "description",
    "reader_pattern": "PC/SC reader",
    "is_enabled": "enabled",
    "takes_approved_requests": "queueing of approved requests",
}


@login_required
@permission_required("personalization.view_encoderstation", raise_exception=True)
def station_list_view(request):
    return render(request, "personalization/station_list.html", {"stations": station_list()})


@login_required
@permission_required("personalization.add_encoderstation", raise_exception=True)
@require_http_methods(["GET", "POST"])
def station_create_view(request):
    form = StationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            station = station_create(**form.cleaned_data, by=request.user)
        except DomainError as error:
            show_domain_error(request, form, error)
        else:
            messages.success(
                request,
                f"Station {station.name} is created; start its worker to take jobs "
                f"from queue {station.queue}.",
            )
            return redirect("station-list")
    return render(request, "personalization/station_form.html", {"form": form})


def _settings(station: EncoderStation) -> dict:
    return {field: getattr(station, field) for field in STATION_CHANGEABLE}


def _outcome(station: EncoderStation, before: dict, *, took_from: str | None) -> list[str]:
    """What the administrator should know about the change just made, in sentences."""
    listed = station_list().get(pk=station.pk)  # with its waiting jobs and current job
    waiting = listed.waiting_jobs
    said = []
    if before["is_enabled"] and not station.is_enabled:
        sentence = f"Station {station.name} is disabled: it takes no new jobs"
        if station_current_job(listed) is not None:
            sentence += "; the job it is running finishes"
        if waiting:
            sentence += f"; its {waiting} waiting job(s) wait until it is enabled again"
        said.append(sentence + ".")
    elif station.is_enabled and not before["is_enabled"]:
        sentence = f"Station {station.name} is enabled: it takes jobs again."
        if waiting:
            sentence += f" Its {waiting} waiting job(s) are sent to queue {station.queue}."
        if not station.is_online():
            sentence += f" Its worker is not running: python manage.py run_station {station.name}"
        said.append(sentence)
    if before["takes_approved_requests"] and not station.takes_approved_requests:
        said.append(
            "Approved requests are no longer queued on a station automatically; an encoding "
            "operator queues them, or edit a station to take them."
        )
    elif station.takes_approved_requests and not before["takes_approved_requests"]:
        said.append(
            f"Approved requests are now queued on {station.name}"
            + (f" (no longer on {took_from})." if took_from else ".")
        )
    others = [
        _LABELS[field]
        for field in ("description", "reader_pattern")
        if before[field] != getattr(station, field)
    ]
    if others:
        said.append(f"Station {station.name}: {' and '.join(others)} saved.")
    return said


def _update(request, station: EncoderStation, changes: dict, form=None) -> bool:
    """station_update, then say what happened (or show its refusal); True when it went through."""
    before = _settings(station)
    took_from = (
        EncoderStation.objects.filter(takes_approved_requests=True)
        .exclude(pk=station.pk)
        .values_list("name", flat=True)
        .first()
    )
    try:
        station = station_update(station=station, by=request.user, **changes)
    except DomainError as error:
        show_domain_error(request, form, error)
        return False
    said = _outcome(station, before, took_from=took_from)
    if not said:
        messages.info(request, f"Nothing changed on station {station.name}.")
    for sentence in said:
        messages.success(request, sentence)
    return True


@login_required
@permission_required("personalization.change_encoderstation", raise_exception=True)
@require_http_methods(["GET", "POST"])
def station_edit_view(request, pk: int):
    station = get_object_or_404(EncoderStation, pk=pk)
    form = StationEditForm.for_station(station, request.POST or None)
    if request.method == "POST" and form.is_valid():
        changes = {
            field: form.cleaned_data[field]
            for field in form.fields
            if field in form.changed_data and form.has_changed_field(field)
        }
        if _update(request, station, changes, form):
            return redirect("station-list")
    return render(request, "personalization/station_form.html", {"form": form, "station": station})


@login_required
@permission_required("personalization.change_encoderstation", raise_exception=True)
@require_POST
def station_disable_view(request, pk: int):
    station = get_object_or_404(EncoderStation, pk=pk)
    if not station.is_enabled:
        messages.info(request, f"Station {station.name} was already disabled.")
    else:
        _update(request, station, {"is_enabled": False})
    return redirect("station-list")


@login_required
@permission_required("personalization.change_encoderstation", raise_exception=True)
@require_POST
def station_enable_view(request, pk: int):
    station = get_object_or_404(EncoderStation, pk=pk)
    if station.is_enabled:
        messages.info(request, f"Station {station.name} was already enabled.")
    else:
        _update(request, station, {"is_enabled": True})
    return redirect("station-list")
