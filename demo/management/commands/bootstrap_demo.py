from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.roles import Role
from accounts.services import user_ensure_with_role
from cardprofiles.services.versions import card_profile_sync_builtin
from demo.data import DEMO_ORGANISATION, DEMO_PROFESSIONALS
from issuance.models import Organisation, Professional
from issuance.services.registry import organisation_create, professional_create
from personalization.models import EncoderStation
from personalization.services.stations import station_ensure, station_update
from pki.services.cas import pki_bootstrap

DEMO_STATION = "demo"
DEMO_USERS = [
    ("enrolment", Role.ENROLMENT_OFFICER, "Emma Enrolment"),
    ("approver", Role.APPROVING_OFFICER, "Arthur Approver"),
    ("encoder", Role.ENCODING_OPERATOR, "Oscar Encoder"),
    ("auditor", Role.AUDITOR, "Alice Auditor"),
    ("admin", Role.ADMINISTRATOR, "Ada Administrator"),
]


class Command(BaseCommand):
    help = (
        "Set up a demo: one user per role (each password printed once, when the user is "
        "created; the approving officer and the administrator enrol a TOTP authenticator app "
        "at their first sign-in), the built-in card profiles, the PKI (as bootstrap_pki does), "
        "an emulated encoder station 'demo' that takes approved requests, and a few demo "
        "professionals. Idempotent: run it again and it only adds what is missing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--printer-uri",
            help="the demo station's card printer (make run starts a virtual one, ippeveprinter); "
            "set as the demo administrator, audited",
        )

    def handle(self, *args, **options):
        logins = [
            user_ensure_with_role(username=name, role=role, full_name=full_name)
            for name, role, full_name in DEMO_USERS
        ]
        pki = pki_bootstrap()
        if pki.changed:
            self.stdout.write(f"PKI: created {', '.join(pki.created)}")
        for result in card_profile_sync_builtin():
            if result.created:
                self.stdout.write(f"card profile {result.version} loaded")
        if not EncoderStation.objects.filter(name=DEMO_STATION).exists():
            station_ensure(
                name=DEMO_STATION,
                transport=EncoderStation.Transport.EMULATED,
                description="Emulated cards, stored in the database (make run serves it)",
                takes_approved_requests=True,
            )
            self.stdout.write(f"encoder station {DEMO_STATION} created: approved requests go there")
        if options["printer_uri"] is not None:
            self._printer(options["printer_uri"])
        with transaction.atomic():
            if not Organisation.objects.filter(finess=DEMO_ORGANISATION["finess"]).exists():
                organisation_create(**DEMO_ORGANISATION, by=None)
            for data in DEMO_PROFESSIONALS:
                if not Professional.objects.filter(rpps=data["rpps"]).exists():
                    professional_create(data=data, by=None)

        self.stdout.write("")
        self.stdout.write("Demo logins (role: username / password):")
        for login in logins:
            password = login.password or "(set when first created; reset with changepassword)"
            self.stdout.write(f"  {login.role.value:<18} {login.username:<10} {password}")
        self.stdout.write(
            "The approving officer and the administrator also need a TOTP code: at their first "
            "sign-in they enrol an authenticator app (a QR code and the key in text are shown)."
        )
        if not any(login.password for login in logins):
            self.stdout.write(
                "Passwords are printed only when a user is created. "
                "Reset one with: python manage.py changepassword USERNAME"
            )

    def _printer(self, uri: str) -> None:
        """The demo station's printer, set through the audited station update as the demo
        administrator (no part of the system changes a station by itself)."""
        station = EncoderStation.objects.get(name=DEMO_STATION)
        if station.printer_uri == uri:
            return
        admin = get_user_model().objects.get(username="admin")
        station_update(station=station, by=admin, printer_uri=uri)
        self.stdout.write(f"encoder station {DEMO_STATION} prints card faces on {uri or '(none)'}")
