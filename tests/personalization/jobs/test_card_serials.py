"""A card serial has 9 random digits a year, so two cards of a year's tens of thousands will draw
the same one: the job draws again instead of failing."""

from __future__ import annotations

import pytest

from audit.selectors import audit_chain_verify
from cards.models import Card
from cards.services import cards as cards_service
from personalization.emulated_cards import emulated_card_create
from personalization.models import EmulatedCard, JobStep, PersonalizationJob
from personalization.runner.engine import Outcome, job_run
from personalization.runner.steps import identify
from tests.personalization.jobs.faults import Fault, install

pytestmark = pytest.mark.django_db

GET_SERIAL = 0xF8  # Yubico GET SERIAL, sent by identify_card before it records the card


def _personalized(request) -> Card:
    job = PersonalizationJob.objects.get(card_request=request)
    assert job_run(job_id=job.pk, worker="test") is Outcome.DONE
    job.refresh_from_db()
    return job.card


def _draws(monkeypatch, *serials: str) -> list[str]:
    """Make the serial generator return `serials` in turn; returns what is left of them."""
    pending = list(serials)
    monkeypatch.setattr(cards_service, "card_serial_new", lambda: pending.pop(0))
    return pending


def test_a_serial_already_on_a_card_is_drawn_again(approved, monkeypatch):
    first = _personalized(approved())
    pending = _draws(monkeypatch, first.serial, "269999999994")

    second = _personalized(approved())

    assert second.status == Card.Status.PERSONALIZED
    assert (first.serial, second.serial) == (first.serial, "269999999994")
    assert pending == []


def test_a_serial_taken_between_the_draw_and_the_insert_is_drawn_again(approved, monkeypatch):
    first = _personalized(approved())
    _draws(monkeypatch, "261111111116", "262222222222")
    request = approved()
    job = PersonalizationJob.objects.get(card_request=request)

    def taken_meanwhile():  # another card gets the drawn serial while this one is being read
        Card.objects.filter(pk=first.pk).update(serial="261111111116")

    install(monkeypatch, Fault(GET_SERIAL, 1, action=taken_meanwhile), steps=True)
    assert job_run(job_id=job.pk, worker="test") is Outcome.DONE

    job.refresh_from_db()
    assert job.status == "done"
    assert job.card.serial == "262222222222"
    assert job.card.status == Card.Status.PERSONALIZED
    identify = JobStep.objects.get(job=job, name="identify_card")
    assert identify.detail["card_serial"] == "262222222222"
    # The card is on the emulated card it was read from, and the rolled-back attempt left no
    # blank card behind.
    assert job.card.emulated_card.serial == int(job.card.chip_serial)
    assert EmulatedCard.objects.count() == Card.objects.count() == 2
    assert audit_chain_verify().intact


def test_any_other_integrity_error_still_fails_the_job_cleanly(approved, monkeypatch):
    """Only a card serial taken by another card is drawn again: a blank emulated card whose chip
    serial another process took meanwhile fails the job, leaving no card and no blank card."""
    real_blank = identify.emulated_card_blank
    monkeypatch.setattr(identify, "emulated_card_blank", lambda: real_blank(serial=12345678))
    request = approved()
    job = PersonalizationJob.objects.get(card_request=request)

    def chip_taken_meanwhile():
        emulated_card_create(serial=12345678)

    install(monkeypatch, Fault(GET_SERIAL, 1, action=chip_taken_meanwhile), steps=True)
    assert job_run(job_id=job.pk, worker="test") is Outcome.FAILED

    job.refresh_from_db()
    assert (job.status, job.error_code, job.card) == ("failed", "internal_error", None)
    assert not Card.objects.exists()
    assert EmulatedCard.objects.count() == 1  # the other process's card only
    assert audit_chain_verify().intact
