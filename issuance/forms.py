from django import forms

from issuance.models import Organisation
from issuance.names import NAME_RULE
from issuance.professions import Profession
from issuance.services.imports import import_size_error


class ProfessionalForm(forms.Form):
    """Text in, like the CSV columns; the registry service does the validation."""

    rpps = forms.CharField(label="RPPS number", max_length=20, help_text="11 digits")
    last_name = forms.CharField(max_length=200, help_text=NAME_RULE)
    first_name = forms.CharField(max_length=200, help_text=NAME_RULE)
    profession = forms.ChoiceField(choices=[("", "—"), *Profession.choices])
    specialty = forms.CharField(max_length=250, required=False)
    email = forms.CharField(max_length=300)
    phone = forms.CharField(max_length=40, required=False)
    address_line1 = forms.CharField(label="Address", max_length=250, required=False)
    address_line2 = forms.CharField(label="Address (continued)", max_length=250, required=False)
    postal_code = forms.CharField(max_length=20, required=False)
    city = forms.CharField(max_length=120, required=False)
    country = forms.CharField(max_length=2, initial="FR", help_text="ISO 3166 code, e.g. FR")
    organisation = forms.ModelChoiceField(
        queryset=Organisation.objects.all(), required=False, to_field_name="finess"
    )
    photo = forms.ImageField(required=False, help_text="JPEG or PNG, for the card face")

    FIELD_MAP = {"organisation_finess": "organisation"}

    def service_data(self) -> dict:
        data = {name: value for name, value in self.cleaned_data.items() if name != "photo"}
        organisation = data.pop("organisation")
        data["organisation_finess"] = organisation.finess if organisation else ""
        data["profession"] = str(data["profession"])
        return data

    @classmethod
    def initial_for(cls, professional) -> dict:
        initial = {name: getattr(professional, name) for name in cls.base_fields if name != "photo"}
        initial["organisation"] = professional.organisation
        return initial


class OrganisationForm(forms.Form):
    name = forms.CharField(max_length=250)
    finess = forms.CharField(
        label="FINESS number",
        max_length=20,
        help_text="9 characters: department (2A/2B in Corsica), 6 digits, check digit",
    )


class ImportForm(forms.Form):
    file = forms.FileField(help_text="CSV, UTF-8, comma or semicolon separated, with a header row")
    dry_run = forms.BooleanField(required=False, label="Dry run: check only, write nothing")
    skip_invalid = forms.BooleanField(
        required=False, label="Import the valid rows even if some rows are invalid"
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if too_large := import_size_error(upload.size):
            raise forms.ValidationError(too_large)
        return upload
