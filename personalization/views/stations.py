from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from config.errors import DomainError
from config.views import show_domain_error
from personalization.forms import StationForm
from personalization.selectors import station_list
from personalization.services.stations import station_create


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
