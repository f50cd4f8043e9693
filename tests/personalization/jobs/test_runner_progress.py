"""What the runner says while it works, and that it stops at once when its lease is gone."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.utils import timezone

from cardedge.piv import PivClient, Slot
from cardedge.transports.emulated import EmulatedTransport
from personalization.emulated_cards import emulated_card_open
from personalization.models import JobStep, PersonalizationJob
from personalization.runner import engine
from personalization.runner.engine import Outcome, job_run, step_names
from personalization.runner.plan import SIGNER_STEP
from pki.models import Certificate

pytestmark = pytest.mark.django_db


def _watching(monkeypatch, on_step):
    """Make every step call `on_step(name)` before it runs."""
    plan = engine.plan

    def watched(profile, printing=None):
        steps = []
        for step in plan(profile, printing):

            def run(context, *args, _step=step, **kwargs):
                on_step(_step.name)
                return _step.run(context, *args, **kwargs)

            steps.append(dataclasses.replace(step, run=run))
        return steps

    monkeypatch.setattr(engine, "plan", watched)


def test_each_step_is_announced_as_current_before_it_runs_on_a_busy_online_station(
    approved, monkeypatch
):
    job = PersonalizationJob.objects.get(card_request=approved())
    seen = []

    def on_step(name):
        row = PersonalizationJob.objects.select_related("station").get(pk=job.pk)
        seen.append((name, row.current_step, row.lease_owner, row.station.status))

    _watching(monkeypatch, on_step)
    assert job_run(job_id=job.pk, worker="w1") is Outcome.DONE
    # Every station step; the signer's step is the signer's (it journals it itself).
    assert [name for name, *_ in seen] == [
        name for name in step_names(job)[:-1] if name != SIGNER_STEP
    ]
    assert JobStep.objects.filter(job=job, name=SIGNER_STEP).exists()
    assert all(
        current == name and lease == "w1" and station == "busy"
        for name, current, lease, station in seen
    )
    job.refresh_from_db()
    assert (job.status, job.current_step) == ("done", "")


def test_a_worker_whose_lease_was_taken_over_runs_no_further_step(approved, monkeypatch):
    job = PersonalizationJob.objects.get(card_request=approved())
    ran = []

    def on_step(name):
        ran.append(name)
        if name == "set_pin_puk":  # another worker took the job over meanwhile
            PersonalizationJob.objects.filter(pk=job.pk).update(lease_owner="w2")

    _watching(monkeypatch, on_step)
    assert job_run(job_id=job.pk, worker="w1") is Outcome.LEASE_LOST
    before = ["identify_card", "authenticate", *(f"generate_{s}" for s in ("9a", "9c", "9d", "9e"))]
    assert ran == [*before, "set_pin_puk"]
    # The step that was running when the lease went is not recorded as done by w1.
    assert list(JobStep.objects.filter(job=job).values_list("name", flat=True)) == [
        *before,
        SIGNER_STEP,
    ]


class _WorkerKilled(BaseException):
    """What SIGKILL looks like from inside: nothing of the runner's own handling runs."""


def test_a_run_resumed_after_issuance_writes_and_checks_the_journalled_certificates(
    approved, monkeypatch
):
    job = PersonalizationJob.objects.get(card_request=approved())
    kill = {"at": "write_objects"}

    def on_step(name):
        if name == kill["at"]:
            raise _WorkerKilled

    _watching(monkeypatch, on_step)
    with pytest.raises(_WorkerKilled):
        job_run(job_id=job.pk, worker="w1")
    kill["at"] = None
    stale = timezone.now() - dt.timedelta(seconds=settings.CARDFORGE_JOB_STALE_SECONDS + 1)
    PersonalizationJob.objects.filter(pk=job.pk).update(heartbeat_at=stale)

    assert job_run(job_id=job.pk, worker="w2") is Outcome.DONE
    job.refresh_from_db()
    issued = {c.card_slot: bytes(c.der) for c in Certificate.objects.for_card(job.card)}
    assert len(issued) == 4
    client = PivClient.connect(EmulatedTransport(emulated_card_open(job.card.emulated_card)))
    for slot, der in issued.items():
        on_card = client.read_certificate(Slot(int(slot, 16)))
        assert on_card.public_bytes(serialization.Encoding.DER) == der
