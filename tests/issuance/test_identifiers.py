import pytest

from issuance.professions import Profession, parse_profession
from issuance.validators import (
    finess_check_digit,
    finess_problem,
    luhn_check_digit,
    luhn_is_valid,
    rpps_problem,
)
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


# FINESS: 9 characters, a department code (01-19, 21-95, 2A, 2B, 97, 98), 6 digits and a Luhn
# check digit over all 9, Corsica's A and B counting as 1 and 2 (2A -> 21, 2B -> 22).
# Real numbers, as published by the ARS and the prefectures' recueils des actes administratifs.
REAL_FINESS = [
    "750712184",  # AP-HP
    "690781810",  # Hospices civils de Lyon
    "130786049",  # AP-HM
    "330781196",  # CHU de Bordeaux
    "970421038",  # La Réunion (97x)
    "2B0000020",  # CH de Bastia
    "2B0005342",  # CH de Calvi
    "2B0004246",  # CHI de Corte-Tattone
    "2A0000170",  # CH de Bonifacio
    "2A0000386",  # CH de Castelluccio
    "2A0002606",  # CH de Sartène
]


@pytest.mark.parametrize("number", REAL_FINESS)
def test_real_finess_numbers_are_accepted(number):
    assert finess_problem(number) is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("750712185", "check digit"),  # AP-HP with a wrong key
        ("750712148", "check digit"),  # two digits swapped
        ("2B0000021", "check digit"),
        ("2A0000020", "check digit"),  # Bastia's number under the other Corsican code
        ("75071218", "9 digits"),
        ("7507121840", "9 digits"),
        ("2C0000020", "2A/2B"),
        ("2a0000170", "2A/2B"),
        ("000000000", "department"),
        ("200000009", "department"),  # 20 was split into 2A and 2B in 1976
        ("960000009", "department"),
        ("99000000B", "9 digits"),
        ("".join(chr(0xFF10 + int(d)) for d in "750712184"), "9 digits"),  # full-width
        ("", "9 digits"),
    ],
)
def test_invalid_finess_numbers_say_why(value, reason):
    problem = finess_problem(value)
    assert problem is not None, value
    assert reason in problem
    assert problem.startswith("FINESS number")


def test_every_single_character_error_in_a_finess_is_caught():
    for number in ("750712184", "2B0005342"):
        for position in range(2, 9):
            for digit in "0123456789":
                if digit == number[position]:
                    continue
                mutated = number[:position] + digit + number[position + 1 :]
                assert finess_problem(mutated) is not None, mutated


def test_finess_check_digit_helper_matches_real_numbers():
    for number in REAL_FINESS:
        assert finess_check_digit(number[:8]) == number[8]
