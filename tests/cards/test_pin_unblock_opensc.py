"""PIN unblock through real middleware: a hpc-recoverable card personalized on a PC/SC station
(pyscard -> private pcscd -> vpcd -> `manage.py emulate_card`) is blocked by three wrong PINs
typed into OpenSC's `pkcs11-tool --login`; after an unblock asked by one officer and approved by
another, done by the station's job with the card in the reader, `pkcs11-tool --login` takes the
new PIN and refuses the old one."""

from __future__ import annotations

import subprocess

import pytest

from accounts.roles import Role
from cards.models import Card, PinMailer
from cards.services.card_actions import card_action_approve, card_action_request
from cards.services.cards import card_deliver
from cards.services.secrets import pin_mailer_secrets
from personalization.models import EncoderStation, PersonalizationJob
from personalization.runner.engine import Outcome, job_run
from personalization.services.stations import station_create
from tests.cards.holder import holder_pin
from tests.cards.test_key_recovery_opensc import OPENSC_PKCS11, _slot_of

pytestmark = [pytest.mark.pcsc, pytest.mark.django_db]


def _login(reader, slot: str, pin: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            "pkcs11-tool",
            "--module",
            OPENSC_PKCS11,
            "--slot",
            slot,
            "--login",
            "--pin",
            pin,
            "--list-objects",
            "--type",
            "privkey",
        ],
        env=reader.harness.pcscd.env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=cwd,
    )


def test_a_blocked_card_is_unblocked_at_its_station(approved, users, second_reader, tmp_path):
    EncoderStation.objects.update(takes_approved_requests=False)
    station_create(
        name="reader-two",
        transport="pcsc",
        reader_pattern=second_reader.name,
        takes_approved_requests=True,
    )
    second_reader.insert("--state", str(tmp_path / "card.json"), "--serial", "31000077")
    request = approved("hpc-recoverable")
    job = PersonalizationJob.objects.get(card_request=request)
    assert job_run(job_id=job.pk, worker="station") is Outcome.DONE, job.error_message
    card = Card.objects.get(card_request=request)
    old_pin = holder_pin(card).reveal().decode()
    card = card_deliver(card=card, by=users[Role.ENCODING_OPERATOR])

    slot = _slot_of(second_reader, tmp_path)
    assert _login(second_reader, slot, old_pin, tmp_path).returncode == 0
    for _ in range(3):
        wrong = _login(second_reader, slot, "000000", tmp_path)
        assert wrong.returncode != 0
    blocked = _login(second_reader, slot, old_pin, tmp_path)
    assert blocked.returncode != 0
    assert "CKR_PIN_LOCKED" in blocked.stdout + blocked.stderr

    asked = card_action_request(
        card=card, action="unblock", comment="holder at the desk", by=users[Role.ENROLMENT_OFFICER]
    )
    card_action_approve(card_action=asked, by=users[Role.APPROVING_OFFICER])
    unblock = PersonalizationJob.objects.get(card_action=asked)
    assert unblock.station.name == "reader-two"
    assert job_run(job_id=unblock.pk, worker="station") is Outcome.DONE, unblock.error_message

    new_pin = pin_mailer_secrets(PinMailer.objects.get(card=card))[0].reveal().decode()
    works = _login(second_reader, slot, new_pin, tmp_path)
    assert works.returncode == 0, works.stdout + works.stderr
    refused = _login(second_reader, slot, old_pin, tmp_path)
    assert refused.returncode != 0
    assert "CKR_PIN_INCORRECT" in refused.stdout + refused.stderr
