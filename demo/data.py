"""Demo registry data for `bootstrap_demo`: an organisation and a few professionals."""

from issuance.validators import luhn_check_digit


def demo_rpps(number: int) -> str:
    payload = f"1000{number:06d}"
    return payload + luhn_check_digit(payload)


DEMO_ORGANISATION = {"name": "Centre hospitalier de Démo", "finess": "750000002"}

DEMO_PROFESSIONALS = [
    {
        "rpps": demo_rpps(1),
        "last_name": "Lefèvre",
        "first_name": "Élodie",
        "profession": "physician",
        "specialty": "General practice",
        "email": "elodie.lefevre@example.org",
        "address_line1": "12 rue de la Santé",
        "postal_code": "75013",
        "city": "Paris",
        "organisation_finess": "750000002",
    },
    {
        "rpps": demo_rpps(2),
        "last_name": "Nguyễn",
        "first_name": "Thảo",
        "profession": "pharmacist",
        "email": "thao.nguyen@example.org",
        "address_line1": "3 place du Marché",
        "postal_code": "69002",
        "city": "Lyon",
    },
    {
        "rpps": demo_rpps(3),
        "last_name": "Müller-Øster",
        "first_name": "Jürgen",
        "profession": "nurse",
        "email": "jurgen.muller@example.org",
        "address_line1": "8 avenue des Tilleuls",
        "postal_code": "67000",
        "city": "Strasbourg",
        "organisation_finess": "750000002",
    },
    {
        "rpps": demo_rpps(4),
        "last_name": "O'Connor",
        "first_name": "Siobhán",
        "profession": "midwife",
        "email": "siobhan.oconnor@example.org",
        "address_line1": "21 quai des Chartrons",
        "postal_code": "33000",
        "city": "Bordeaux",
    },
]
