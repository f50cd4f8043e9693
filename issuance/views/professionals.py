from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from audit.models import AuditEvent
from config.converters import parse_id
from config.errors import DomainError
from config.pages import page_context
from config.views import show_domain_error
from issuance.forms import ImportForm, OrganisationForm, ProfessionalForm
from issuance.models import Professional
from issuance.names import NAME_RULE
from issuance.professions import Profession
from issuance.selectors import organisation_list, professional_list
from issuance.services.imports import professionals_import
from issuance.services.registry import (
    organisation_create,
    professional_create,
    professional_update,
)

PAGE_SIZE = 25


@login_required
@permission_required("issuance.view_professional", raise_exception=True)
def professional_list_view(request):
    search = request.GET.get("q", "")
    profession = request.GET.get("profession", "")
    professionals = professional_list(search=search, profession=parse_id(profession))
    page = Paginator(professionals, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "issuance/professional_list.html",
        {"page": page, "q": search, "profession": profession, "professions": Profession.choices},
    )


@login_required
@permission_required("issuance.add_professional", raise_exception=True)
@require_http_methods(["GET", "POST"])
def professional_create_view(request):
    form = ProfessionalForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            professional = professional_create(
                data=form.service_data(), by=request.user, photo=form.cleaned_data["photo"]
            )
        except DomainError as error:
            show_domain_error(request, form, error, ProfessionalForm.FIELD_MAP)
        else:
            messages.success(request, f"{professional.full_name} is enrolled.")
            return redirect("professional-detail", pk=professional.pk)
    return render(request, "issuance/professional_form.html", {"form": form, "creating": True})


@login_required
@permission_required("issuance.change_professional", raise_exception=True)
@require_http_methods(["GET", "POST"])
def professional_edit_view(request, pk: int):
    professional = get_object_or_404(Professional, pk=pk)
    form = ProfessionalForm(
        request.POST or None,
        request.FILES or None,
        initial=ProfessionalForm.initial_for(professional),
    )
    if request.method == "POST" and form.is_valid():
        try:
            professional_update(
                professional=professional,
                data=form.service_data(),
                by=request.user,
                photo=form.cleaned_data["photo"],
            )
        except DomainError as error:
            show_domain_error(request, form, error, ProfessionalForm.FIELD_MAP)
        else:
            messages.success(request, "Changes saved.")
            return redirect("professional-detail", pk=professional.pk)
    return render(
        request,
        "issuance/professional_form.html",
        {"form": form, "professional": professional, "creating": False},
    )


@login_required
@permission_required("issuance.view_professional", raise_exception=True)
def professional_detail_view(request, pk: int):
    professional = get_object_or_404(professional_list(), pk=pk)
    return render(
        request,
        "issuance/professional_detail.html",
        {
            "professional": professional,
            "history": AuditEvent.objects.for_object(professional).order_by("-sequence")[:20],
            # Their card requests and the form to ask for one (cards/pages.py).
            **page_context("professional-detail", request, professional),
        },
    )


@login_required
@permission_required("issuance.view_professional", raise_exception=True)
def professional_photo_view(request, pk: int):
    """Photos are personal data: served only to signed-in users allowed to see the registry."""
    professional = get_object_or_404(Professional, pk=pk)
    if not professional.photo:
        raise Http404
    return FileResponse(professional.photo.open("rb"))


@login_required
@permission_required("issuance.import_professionals", raise_exception=True)
@require_http_methods(["GET", "POST"])
def professional_import_view(request):
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            report = professionals_import(
                content=upload.read(),
                by=request.user,
                file_name=upload.name,
                dry_run=form.cleaned_data["dry_run"],
                skip_invalid=form.cleaned_data["skip_invalid"],
            )
        except DomainError as error:
            form.add_error("file", error.message)
    return render(
        request,
        "issuance/professional_import.html",
        {"form": form, "report": report, "name_rule": NAME_RULE},
    )


@login_required
@permission_required("issuance.view_organisation", raise_exception=True)
@require_http_methods(["GET", "POST"])
def organisation_list_view(request):
    if request.method == "POST" and not request.user.has_perm("issuance.add_organisation"):
        raise PermissionDenied  # 403, as every write a role may not make
    form = OrganisationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            organisation = organisation_create(**form.cleaned_data, by=request.user)
        except DomainError as error:
            show_domain_error(request, form, error)
        else:
            messages.success(request, f"{organisation} added.")
            return redirect("organisation-list")
    search = request.GET.get("q", "")
    page = Paginator(organisation_list(search=search), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request, "issuance/organisation_list.html", {"page": page, "form": form, "q": search}
    )
