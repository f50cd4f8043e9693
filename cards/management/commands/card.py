"""`manage.py card ACTION …`: a card's life from a shell (docs/card-lifecycle.md), through the same
services, checks and audit events as the back office and the API. Every change is made as
`--as-user USER`, who signs in (password, and authenticator code where the web asks for one).

    card show SERIAL
    card deliver SERIAL --as-user U [--comment TEXT]
    card request SERIAL suspend|resume|revoke [--reason R] [--comment TEXT] --as-user U
    card approve REQUEST_ID --as-user U [--comment TEXT]
    card reject REQUEST_ID --comment TEXT --as-user U
    card emergency-revoke SERIAL --reason R --comment TEXT --as-user U
    card destroy SERIAL --as-user U [--comment TEXT]
    card expire
    card renewals
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.console import console_sign_in
from cards.models import Card, CardActionRequest
from cards.services.card_actions import (
    card_action_approve,
    card_action_reject,
    card_action_request,
    card_revoke_emergency,
)
from cards.services.cards import card_deliver, card_destroy, cards_expire
from cards.services.renewals import renewals_run
from config.errors import DomainError
from pki.models import Certificate

REASONS = Card.RevocationReason.values


def _as_user(parser: CommandParser) -> None:
    parser.add_argument(
        "--as-user",
        required=True,
        metavar="USER",
        help="who makes the change (audited); asks for their password and authenticator code",
    )


class Command(BaseCommand):
    help = "A card's life: show, deliver, ask for and decide suspensions, resumptions and "
    help += "revocations, revoke in an emergency, record a returned card destroyed, expire."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        show = actions.add_parser("show", help="a card's state, certificates and requests")
        show.add_argument("serial")

        deliver = actions.add_parser("deliver", help="the card was handed over or posted")
        deliver.add_argument("serial")
        deliver.add_argument("--comment", default="")
        _as_user(deliver)

        request = actions.add_parser(
            "request", help="ask for a suspension, resumption or revocation"
        )
        request.add_argument("serial")
        request.add_argument("what", choices=CardActionRequest.Action.values)
        request.add_argument("--reason", choices=REASONS, default="", help="for a revocation")
        request.add_argument("--comment", default="")
        _as_user(request)

        for name, text in (
            ("approve", "approve another officer's request"),
            ("reject", "reject another officer's request"),
        ):
            decide = actions.add_parser(name, help=text)
            decide.add_argument("request_id", type=int)
            decide.add_argument("--comment", default="", required=name == "reject")
            _as_user(decide)

        emergency = actions.add_parser(
            "emergency-revoke", help="an administrator revokes a card alone, at once (flagged)"
        )
        emergency.add_argument("serial")
        emergency.add_argument("--reason", choices=REASONS, required=True)
        emergency.add_argument("--comment", required=True, help="why it cannot wait")
        _as_user(emergency)

        destroy = actions.add_parser("destroy", help="a returned card was destroyed")
        destroy.add_argument("serial")
        destroy.add_argument("--comment", default="")
        _as_user(destroy)

        actions.add_parser("expire", help="expire the live cards past their expiry now")
        actions.add_parser(
            "renewals",
            help="note the cards newly inside their renewal window now, and tell their holders "
            "or submit their renewals (CARDFORGE_RENEWALS)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            getattr(self, "_" + action.replace("-", "_"))(options)
        except DomainError as error:
            raise CommandError(error.message) from None

    def _card(self, serial: str) -> Card:
        card = (
            Card.objects.select_related("professional", "card_profile")
            .filter(serial=serial)
            .first()
        )
        if card is None:
            raise CommandError(f"no card with serial {serial!r}")
        return card

    def _request_row(self, request_id: int) -> CardActionRequest:
        row = CardActionRequest.objects.select_related("card").filter(pk=request_id).first()
        if row is None:
            raise CommandError(f"no card action request #{request_id}")
        return row

    def _state(self, card: Card) -> None:
        line = f"Card {card.serial}: {card.get_status_display().lower()}"
        if card.revocation_reason:
            line += f" ({card.get_revocation_reason_display().lower()})"
        self.stdout.write(line + ".")

    def _show(self, options: dict) -> None:
        card = self._card(options["serial"])
        self._state(card)
        self.stdout.write(
            f"Holder {card.professional.full_name} (RPPS {card.professional.rpps}), profile "
            f"{card.card_profile.name}, expires {timezone.localtime(card.expires_at):%Y-%m-%d}."
        )
        for certificate in Certificate.objects.for_card(card).order_by("card_slot"):
            status = certificate.get_status_display()
            self.stdout.write(f"  {certificate.card_slot}  {certificate.serial}  {status}")
        for row in card.action_requests.order_by("-requested_at")[:10]:
            self.stdout.write(
                f"  request #{row.pk}: {row.action} {row.reason} by "
                f"{row.requested_by.get_username()}, {row.status}"
            )

    def _deliver(self, options: dict) -> None:
        card = self._card(options["serial"])
        user = console_sign_in(options["as_user"])
        self._state(card_deliver(card=card, by=user, comment=options["comment"]))

    def _request(self, options: dict) -> None:
        card = self._card(options["serial"])
        user = console_sign_in(options["as_user"])
        row = card_action_request(
            card=card,
            action=options["what"],
            reason=options["reason"],
            comment=options["comment"],
            by=user,
        )
        self.stdout.write(
            f"Request #{row.pk} to {row.action} card {card.serial} made; another officer "
            f"approves it (`manage.py card approve {row.pk} --as-user …`)."
        )

    def _approve(self, options: dict) -> None:
        row = self._request_row(options["request_id"])
        user = console_sign_in(options["as_user"])
        row = card_action_approve(card_action=row, by=user, comment=options["comment"])
        self.stdout.write(f"Request #{row.pk} approved.")
        self._state(row.card)

    def _reject(self, options: dict) -> None:
        row = self._request_row(options["request_id"])
        user = console_sign_in(options["as_user"])
        card_action_reject(card_action=row, by=user, comment=options["comment"])
        self.stdout.write(f"Request #{row.pk} rejected.")

    def _emergency_revoke(self, options: dict) -> None:
        card = self._card(options["serial"])
        user = console_sign_in(options["as_user"])
        card = card_revoke_emergency(
            card=card, reason=options["reason"], by=user, comment=options["comment"]
        )
        self._state(card)
        self.stdout.write("Emergency revocation: flagged in the audit trail.")

    def _destroy(self, options: dict) -> None:
        card = self._card(options["serial"])
        user = console_sign_in(options["as_user"])
        self._state(card_destroy(card=card, by=user, comment=options["comment"]))

    def _expire(self, options: dict) -> None:
        expired = cards_expire()
        self.stdout.write(
            f"{len(expired)} card(s) expired" + (f": {', '.join(expired)}." if expired else ".")
        )

    def _renewals(self, options: dict) -> None:
        run = renewals_run()
        self.stdout.write(
            f"{len(run.noticed)} card(s) newly due for renewal"
            + (f": {', '.join(run.noticed)}" if run.noticed else "")
            + f"; {len(run.requested)} renewal request(s) submitted."
        )
        for problem in run.problems:
            self.stderr.write(problem)
