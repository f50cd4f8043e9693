"""Cards' tests: real cards, personalized on the emulated station by the real runner."""

from __future__ import annotations

import pytest

from cards.models import Card
from personalization.models import PersonalizationJob
from personalization.runner.engine import Outcome, job_run
from tests.personalization.jobs.conftest import (  # noqa: F401
    approved,
    pki,
    second_reader,
    station,
)


@pytest.fixture
def personalized(approved):  # noqa: F811 - the fixture imported above
    """personalized(profile="hpc-physician", reason="new", professional=None) -> a card the
    runner personalized, with its four valid certificates."""

    def make(profile: str = "hpc-physician", **options) -> Card:
        request = approved(profile, **options)
        job = PersonalizationJob.objects.get(card_request=request)
        assert job_run(job_id=job.pk, worker="test") is Outcome.DONE
        return Card.objects.get(pk=PersonalizationJob.objects.get(pk=job.pk).card_id)

    return make
