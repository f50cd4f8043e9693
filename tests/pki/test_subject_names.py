"""The common name of a professional's certificates (pki/profiles.py): fitted by bytes, because
`cryptography` refuses a commonName over 64 bytes of UTF-8."""

from __future__ import annotations

import pytest

from pki.profiles import professional_common_name


@pytest.mark.parametrize(
    ("first_name", "last_name", "common_name"),
    [
        ("Hélène", "Lefèvre-Dupont", "Hélène Lefèvre-Dupont"),
        ("  Jean  ", " Martin ", "Jean Martin"),
        # 39 characters but 66 bytes: the initial form.
        ("Éloïse", "É" * 25 + "-Dupont", "É. " + "É" * 25 + "-Dupont"),
        # "É. " + 62 bytes is 66: the last name alone, whole.
        ("Élodie", "É" * 31, "É" * 31),
        # The initial is a letter with its combining mark (Yoruba: no precomposed form).
        ("Ọ̀lá", "Adébáyọ̀-" + "a" * 43, "Ọ̀. Adébáyọ̀-" + "a" * 43),
        # A record stored before the enrolment rule: cut at a character boundary.
        ("Anne", "É" * 64, "É" * 32),
        ("Anne", "諸葛亮" * 10, "諸葛亮" * 7),
    ],
)
def test_the_common_name_fits_64_bytes(first_name, last_name, common_name):
    fitted = professional_common_name(first_name, last_name)
    assert fitted == common_name
    assert len(fitted.encode()) <= 64
