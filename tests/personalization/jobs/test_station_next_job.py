"""A station with one reader makes one card at a time: a job that finds it busy (the card before
waiting at the signer) retries later, and the station's next waiting job is sent as soon as the
reader is free. Found by benchmarks/separated_workers.py: without it, each card of a batch
waited out a 5-second retry, and a separated station made 0.4 cards/s instead of 2.3."""

from __future__ import annotations

import pytest

from personalization import dispatch
from personalization.models import PersonalizationJob
from personalization.runner import engine
from personalization.runner.engine import Outcome, job_run
from signer import requests as signer_requests
from signer.stations import station_enrol_here
from signer.tasks import sign_job

pytestmark = pytest.mark.django_db


def test_the_next_waiting_job_is_sent_when_the_station_is_free(
    approved, monkeypatch, django_capture_on_commit_callbacks
):
    first, second = (PersonalizationJob.objects.get(card_request=approved()) for _ in range(2))
    station_enrol_here(first.station)
    envelopes: list[str] = []
    sent: list[int] = []
    monkeypatch.setattr(engine, "signer_request_send", envelopes.append)
    monkeypatch.setattr(signer_requests, "personalization_send", lambda job: None)
    monkeypatch.setattr(
        dispatch,
        "_send",
        lambda name, *, args, queue, **options: (
            sent.append(args[0]) if name == dispatch.PERSONALIZE_CARD else None
        ),
    )
    worker = {"worker": "station-worker", "stations": ["bench-1"]}

    with django_capture_on_commit_callbacks(execute=True):
        assert job_run(job_id=first.pk, **worker) is Outcome.AT_SIGNER
        # The card is in the reader, waiting for the signer: the next job waits too.
        assert job_run(job_id=second.pk, **worker) is Outcome.STATION_BUSY
    assert sent == []

    assert sign_job.run(envelopes[0]) == "signed"
    with django_capture_on_commit_callbacks(execute=True):
        assert job_run(job_id=first.pk, **worker) is Outcome.DONE
    assert sent == [second.pk]  # at once, not at its retry
    with django_capture_on_commit_callbacks(execute=True):
        assert job_run(job_id=second.pk, **worker) is Outcome.AT_SIGNER
