"""An encoder station's states: this module is the only one that writes whether a station is
busy (and with which job) and when it was last heard of.

A station is
- enabled or disabled, and takes approved requests or not: its settings, changed only through
  `station_update` (services/stations.py), audited;
- free or busy with one job: `station_take` when a job starts or resumes on it, `station_free`
  when the job ends (done, failed, abandoned) and `station_release` when a worker stops without
  ending it (which keeps it busy: its half-made card is still in the reader);
- online or offline: its heartbeat, beaten by its worker (`station_beat`, `station_heartbeat`,
  `stations_worker_started`) and cleared when the worker stops (`stations_worker_stopped`).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from config.statements import update_where
from personalization.dispatch import personalization_send
from personalization.models import EncoderStation, PersonalizationJob

FREE, BUSY = "free", "busy"
TRANSITIONS: dict[str, dict[str, str]] = {
    FREE: {BUSY: "station_take (a job starts or resumes on it)"},
    BUSY: {
        BUSY: "station_take (a job resumes; or takes over from a job that has ended)",
        FREE: "station_free (its job ended), station_release (its job ended meanwhile)",
    },
}

# A station shows offline after CARDFORGE_STATION_OFFLINE_SECONDS (at least 5) without news.
STATION_BEAT_SECONDS = 1.0


class StationBusy(Exception):
    """Another running job holds the station: try again shortly."""


class StationDisabled(Exception):
    """The station is disabled: the job waits; requeue_stale_jobs sends it again."""


def station_take(job: PersonalizationJob, worker: str) -> None:
    """Lease the job's station: free, already this job's, or left by a job that has ended;
    StationBusy or StationDisabled otherwise.

    A job that has not ended keeps its station however long its worker has been silent: on a
    PC/SC station its half-made card is still in the reader, and only that job may touch it
    again (`requeue_stale_jobs` resumes it), even if the station was disabled meanwhile. The
    station row is locked while deciding, so two jobs racing for it cannot both win. In the
    caller's transaction if there is one (job_run's, which also starts the job).
    """
    with transaction.atomic(savepoint=False):
        station = EncoderStation.objects.select_for_update(no_key=True).get(pk=job.station_id)
        if station.busy_job_id != job.pk:
            if not station.is_enabled:
                raise StationDisabled
            if (
                station.busy_job_id is not None
                and PersonalizationJob.objects.filter(
                    pk=station.busy_job_id, status=PersonalizationJob.Status.RUNNING
                ).exists()
            ):
                raise StationBusy
        update_where(
            EncoderStation,
            {"busy_job_id": job.pk, "heartbeat_at": timezone.now(), "worker": worker[:200]},
            {"id": station.pk},
        )


def _send_next_waiting(station_id: int) -> None:
    """The station is free: its oldest waiting job is sent once this commits. A job that found
    the station busy (its card waiting at the signer, or another's in the reader) retries later
    anyway; this starts the next card as soon as the reader is free (a message sent twice is
    harmless: the first delivery claims the job)."""
    following = (
        PersonalizationJob.objects.filter(
            station_id=station_id, status=PersonalizationJob.Status.WAITING
        )
        .select_related("station")
        .order_by("pk")
        .first()
    )
    if following is not None:
        transaction.on_commit(lambda: personalization_send(following))


def station_free(job: PersonalizationJob) -> bool:
    """The job has ended: its station is free (if it still held it), and its next waiting job
    is sent. In the caller's transaction, which ends the job."""
    freed = bool(
        update_where(
            EncoderStation, {"busy_job_id": None}, {"id": job.station_id, "busy_job_id": job.pk}
        )
    )
    if freed:
        _send_next_waiting(job.station_id)
    return freed


def station_release(job: PersonalizationJob) -> None:
    """A worker stops with the job: free the station if the job has ended meanwhile. A job still
    running keeps it: its worker bailed out (as a killed one would), or another worker took the
    job over."""
    with transaction.atomic():
        station = (
            EncoderStation.objects.select_for_update(no_key=True)
            .filter(pk=job.station_id, busy_job=job)
            .first()
        )
        if station is None or (
            PersonalizationJob.objects.filter(
                pk=job.pk, status=PersonalizationJob.Status.RUNNING
            ).exists()
        ):
            return
        update_where(EncoderStation, {"busy_job_id": None}, {"id": station.pk})
        _send_next_waiting(station.pk)


def station_beat(station: EncoderStation, now: dt.datetime) -> None:
    """The station's heartbeat (it shows online), written at most every STATION_BEAT_SECONDS:
    an emulated card's step takes milliseconds. In the caller's transaction."""
    last = station.heartbeat_at
    if last is None or (now - last).total_seconds() >= STATION_BEAT_SECONDS:
        update_where(EncoderStation, {"heartbeat_at": now}, {"id": station.pk})
        station.heartbeat_at = now


def station_heartbeat(*, station_id: int, worker: str) -> None:
    EncoderStation.objects.filter(pk=station_id).update(
        heartbeat_at=timezone.now(), worker=worker[:200]
    )


def stations_worker_started(*, names: list[str], worker: str) -> None:
    """The worker of these stations is ready: they are online from now (Celery worker_ready)."""
    EncoderStation.objects.filter(name__in=names).update(
        heartbeat_at=timezone.now(), worker=worker[:200]
    )


def stations_worker_stopped(*, names: list[str], worker: str) -> None:
    """The worker of these stations stopped cleanly: offline at once, unless another worker
    has answered for them since (Celery worker_shutdown)."""
    EncoderStation.objects.filter(name__in=names).filter(
        Q(worker=worker[:200]) | Q(worker__startswith=f"{worker}/")
    ).update(heartbeat_at=None)
