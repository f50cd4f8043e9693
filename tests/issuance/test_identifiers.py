import pytest

from issuance.professions import Profession, parse_profession
from issuance.validators import luhn_check_digit, luhn_is_valid, rpps_problem
from tests.factories import valid_rpps


@pytest.mark.parametrize("number", ["10003456786", "10000000009", valid_rpps(42)])
def test_luhn_valid_rpps_numbers_are_accepted(number):
    assert rpps_problem(number) is None


def test_known_rpps_check_digit():
    # 1000345678 + check digit: doubled from the right 8,6,4,0,0 -> 7+3+8+0+0 = 18; the others
    # 7,5,3,0,1 add 16; 34 + 6 is a multiple of 10, so the check digit is 6.
    assert luhn_check_digit("1000345678") == "6"
    assert luhn_is_valid("10003456786")
    assert not luhn_is_valid("10003456789")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1000345678", "exactly 11 digits"),
        ("10003456789", "check digit"),
        ("100034567890", "exactly 11 digits"),
        ("1000345678a", "exactly 11 digits"),
        ("".join(chr(0xFF10 + int(d)) for d in "10003456786"), "exactly 11 digits"),  # full-width
        ("10003456768", "check digit"),
        ("", "exactly 11 digits"),
    ],
)
def test_invalid_rpps_numbers_say_why(value, reason):
    assert reason in rpps_problem(value)


def test_every_single_digit_error_is_caught():
    number = "10003456786"
    for position in range(11):
        for digit in "0123456789":
            if digit == number[position]:
                continue
            mutated = number[:position] + digit + number[position + 1 :]
            assert rpps_problem(mutated) is not None, mutated


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("10", Profession.PHYSICIAN),
        ("physician", Profession.PHYSICIAN),
        ("PHYSICIAN", Profession.PHYSICIAN),
        ("Médecin", Profession.PHYSICIAN),
        ("21", Profession.PHARMACIST),
        ("Pharmacist", Profession.PHARMACIST),
        ("dentist", Profession.DENTIST),
        ("50", Profession.MIDWIFE),
        ("sage-femme", Profession.MIDWIFE),
        (" nurse ", Profession.NURSE),
        ("70", Profession.PHYSIOTHERAPIST),
        ("PhysioTherapist", Profession.PHYSIOTHERAPIST),
    ],
)
def test_profession_accepts_code_or_name_in_any_case(given, expected):
    assert parse_profession(given) is expected


@pytest.mark.parametrize("given", ["11", "surgeon", "", "physician assistant"])
def test_unknown_profession_is_refused_with_the_known_list(given):
    with pytest.raises(ValueError, match="10 physician"):
        parse_profession(given)
