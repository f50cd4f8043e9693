"""The name rule of enrolment (issue 12): what a first or last name may hold, applied alike by the
form, the API and the CSV import, because every name ends up in certificates and on the card."""

from __future__ import annotations

import pytest

from accounts.roles import Role
from audit.models import AuditEvent
from config.errors import ValidationFailed
from issuance.models import Professional
from issuance.services.imports import professionals_import
from issuance.services.registry import professional_create
from tests.factories import valid_rpps

pytestmark = pytest.mark.django_db


def _data(**names: str) -> dict:
    return {
        "rpps": valid_rpps(),
        "last_name": "Dupont",
        "first_name": "Jean",
        "profession": "physician",
        "email": "jean.dupont@example.org",
        **names,
    }


def _enrol(users, **names: str) -> Professional:
    return professional_create(data=_data(**names), by=users[Role.ENROLMENT_OFFICER])


def _refusal(users, **names: str) -> tuple[str, str]:
    with pytest.raises(ValidationFailed) as refused:
        _enrol(users, **names)
    assert Professional.objects.count() == 0
    assert AuditEvent.objects.count() == 0
    [error] = refused.value.errors
    return error.field, error.message


# The attacks: text that renders as something else, hides, or is markup, headed for a
# certificate subject, the card's printed information and the PDFs.
@pytest.mark.parametrize(
    ("last_name", "shown"),
    [
        ("Dupont\u202etnaillirb", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("\u2067Dupont\u2069", "U+2067 RIGHT-TO-LEFT ISOLATE"),
        ("Du\u200bpont", "U+200B ZERO WIDTH SPACE"),
        ("\ufeffDupont", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
        ("Du\u00adpont", "U+00AD SOFT HYPHEN"),
        ("Du\u200dpont", "U+200D ZERO WIDTH JOINER"),
        ("Du\tpont", "U+0009"),
        ("Dupont\x00", "U+0000"),
        ("Du\npont", "U+000A"),
        ("<script>alert(1)</script>", "'<'"),
        ("<b>Dupont</b>", "'<'"),
        ("Dupont &amp; Fils", "'&'"),
        ('Du"pont', "'\"'"),
        ("Dupont2", "'2'"),
        ("Dupont\u2028", "U+2028 LINE SEPARATOR"),
        ("Dupont\ue000", "U+E000"),
    ],
)
def test_invisible_controls_and_markup_are_refused(users, last_name, shown):
    field, message = _refusal(users, last_name=last_name)
    assert field == "last_name"
    assert shown in message


def test_a_combining_mark_must_follow_a_letter(users):
    field, message = _refusal(users, first_name="\u0301Jean")
    assert (field, "combining mark") == ("first_name", "combining mark")
    assert "U+0301" in message


def test_a_letter_carries_few_combining_marks(users):
    field, message = _refusal(
        users, last_name="Zal" + "\u0334\u0335\u0336\u0337\u0338\u0334" + "go"
    )
    assert field == "last_name"
    assert "combining marks" in message


def test_a_name_has_a_letter(users):
    field, message = _refusal(users, first_name="-'.")
    assert (field, "letter") == ("first_name", "letter")
    assert "letter" in message


def test_a_last_name_of_64_accented_letters_is_refused_with_the_rule(users):
    """Issue 12: it passed enrolment, then failed the job at "issue the certificates"."""
    field, message = _refusal(users, last_name="É" * 64)
    assert field == "last_name"
    assert message == "is too long: at most 62 bytes once encoded in UTF-8 (this name is 128)"


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("  Jean   Pierre ", "Jean Pierre"),
        ("Jean\u00a0Pierre", "Jean Pierre"),  # no-break space
        ("Ne\u0301e", "Née"),  # decomposed: stored NFC
        ("O\u2019Connor", "O\u2019Connor"),
        ("d'Alembert", "d'Alembert"),
        ("\u2019t Hooft", "\u2019t Hooft"),
        ("St. John", "St. John"),
        ("Müller-Øster", "Müller-Øster"),
        ("Νικολαΐδης", "Νικολαΐδης"),
        ("Пётр", "Пётр"),
        ("محمد", "محمد"),
        ("山田", "山田"),
        ("김민준", "김민준"),
        ("Nguyễn", "Nguyễn"),
        ("ศรีสวัสดิ์", "ศรีสวัสดิ์"),  # Thai: vowel and tone marks on one letter
        ("É" * 31, "É" * 31),  # 62 bytes: the limit
        ("a" * 62, "a" * 62),
    ],
)
def test_real_names_of_every_script_are_accepted_normalised(users, given, stored):
    professional = _enrol(users, last_name=given)
    professional.refresh_from_db()
    assert professional.last_name == stored


def test_one_byte_over_is_refused(users):
    field, message = _refusal(users, first_name="a" * 61 + "é")
    assert field == "first_name"
    assert "(this name is 63)" in message


def test_the_api_applies_the_rule(api, users):
    response = api.as_user(users[Role.ENROLMENT_OFFICER]).post(
        "/api/v1/professionals/", _data(last_name="Dupont\u202e"), format="json"
    )
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == "last_name"
    assert "U+202E" in error["message"]
    assert Professional.objects.count() == 0


def test_the_csv_import_applies_the_rule(users):
    content = "\n".join(
        [
            "rpps,last_name,first_name,profession,email",
            f"{valid_rpps()},Dupont,Je\u200ban,10,a@example.org",
            f"{valid_rpps()},{'É' * 32},Anne,10,b@example.org",
            "",
        ]
    ).encode()
    report = professionals_import(content=content, by=users[Role.ENROLMENT_OFFICER])
    problems = {(error.line, error.column): error.message for error in report.errors}
    assert "U+200B ZERO WIDTH SPACE" in problems[(2, "first_name")]
    assert "at most 62 bytes" in problems[(3, "last_name")]
    assert Professional.objects.count() == 0


def test_the_form_states_the_rule_and_applies_it(client, users):
    from django.urls import reverse

    client.force_login(users[Role.ENROLMENT_OFFICER])
    page = client.get(reverse("professional-create")).content.decode()
    assert "at most 62 bytes in UTF-8" in page
    response = client.post(
        reverse("professional-create"),
        {**_data(first_name="<b>Jean</b>"), "profession": "10", "country": "FR"},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="id_first_name-errors"' in page
    assert "U+003C LESS-THAN SIGN" in page
    assert Professional.objects.count() == 0


def test_other_text_refuses_invisible_characters(users):
    from issuance.services.registry import organisation_create

    with pytest.raises(ValidationFailed) as refused:
        professional_create(data=_data(city="Paris\u202e"), by=users[Role.ENROLMENT_OFFICER])
    assert refused.value.errors[0].field == "city"
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in refused.value.errors[0].message
    with pytest.raises(ValidationFailed) as refused:
        organisation_create(
            name="Clinique\u200b du Parc", finess="750000019", by=users[Role.ENROLMENT_OFFICER]
        )
    assert refused.value.errors[0].field == "name"
    assert "U+200B ZERO WIDTH SPACE" in refused.value.errors[0].message
