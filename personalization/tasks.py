"""Celery tasks: thin wrappers that take ids and call the runner and services."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from personalization.dispatch import station_ping_send
from personalization.models import EncoderStation
from personalization.runner.engine import Outcome, job_run
from personalization.services.jobs import jobs_requeue_stale
from personalization.station_states import station_heartbeat


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    max_retries=None,
)
def personalize_card(self, job_id: int) -> str:
    """Sent to the station's own queue (`station.<name>`); idempotent, so a redelivered message
    does nothing twice."""
    worker = f"{self.request.hostname or 'local'}/{self.request.id or 'eager'}"
    # Run in-process (eager), the caller is trusted; from a broker, a worker runs only the
    # jobs of the stations it serves (CARDFORGE_STATIONS, set by run_station).
    stations = None if self.request.is_eager else settings.CARDFORGE_STATIONS
    outcome = job_run(job_id=job_id, worker=worker, stations=stations)
    if outcome is Outcome.STATION_BUSY:
        raise self.retry(countdown=5)
    return outcome.value


@shared_task(ignore_result=True)
def requeue_stale_jobs() -> list[int]:
    return jobs_requeue_stale()


@shared_task(bind=True, ignore_result=True)
def station_heartbeat_task(self, station_id: int) -> None:
    station_heartbeat(station_id=station_id, worker=self.request.hostname or "")


@shared_task(ignore_result=True)
def ping_stations() -> int:
    """Each enabled station's worker answers on its own queue; a silent one shows offline."""
    stations = list(EncoderStation.objects.filter(is_enabled=True))
    for station in stations:
        station_ping_send(station)
    return len(stations)
