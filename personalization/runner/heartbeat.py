"""The job's heartbeat while a step runs.

Between steps the runner beats the heartbeat itself, with each step's record. A step can take
longer than CARDFORGE_JOB_STALE_SECONDS: an RSA-2048 key generated on an old card takes tens of
seconds, a slow reader more. Without news for that long the job would look stalled: resent to
another worker, or abandoned by an operator while its worker is still making the card. So while
a step runs, a thread beats for it, a third of the stale threshold apart, on its own database
connection.

It beats for at most CARDFORGE_STEP_MAX_SECONDS per step. A step that runs longer is taken for
hung (a reader that never answers): the job is left to go stale, so `requeue_stale_jobs` and an
operator's abandon can deal with it, as with a dead worker. A beat that finds the lease gone
(another worker took the job, or it was abandoned) stops beating; the step's record then finds
out too and stops the job (LeaseLost).
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from config.statements import update_where
from personalization.models import EncoderStation, PersonalizationJob

logger = logging.getLogger(__name__)


class StepHeartbeat:
    """One thread per job run; `step(name)` marks a step running, `between()` marks it done."""

    def __init__(self, job: PersonalizationJob, worker: str) -> None:
        self.job_id = job.pk
        self.station_id = job.station_id
        self.worker = worker
        self.interval = max(0.1, settings.CARDFORGE_JOB_STALE_SECONDS / 3)
        self.limit = settings.CARDFORGE_STEP_MAX_SECONDS
        self._step: tuple[str, float] | None = None  # (name, monotonic start)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> StepHeartbeat:
        # An in-memory SQLite database (tests) has no second connection that could wait its
        # turn: there, steps are beaten for only by their records.
        if not (connection.vendor == "sqlite" and connection.is_in_memory_db()):
            self._thread = threading.Thread(
                target=self._run, name=f"heartbeat-job-{self.job_id}", daemon=True
            )
            self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def step(self, name: str) -> None:
        with self._lock:
            self._step = (name, time.monotonic())

    def between(self) -> None:
        with self._lock:
            self._step = None

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                with self._lock:
                    running = self._step
                if running is None:
                    continue
                name, started = running
                if time.monotonic() - started > self.limit:
                    logger.warning(
                        "job %s: step %s has run for over %s s; taken for hung, the job is left "
                        "to go stale",
                        self.job_id,
                        name,
                        self.limit,
                    )
                    return
                try:
                    if not self._beat():
                        return  # the lease is gone
                except DatabaseError as error:
                    # The database restarting, say: try again at the next beat, reconnected.
                    logger.warning("job %s: a heartbeat failed: %s", self.job_id, error)
                    connection.close()
        finally:
            connection.close()  # this thread's own connection

    def _beat(self) -> bool:
        """Beat the job's and the station's heartbeats if this worker still holds the job."""
        now = timezone.now()
        with transaction.atomic():
            held = update_where(
                PersonalizationJob,
                {"heartbeat_at": now},
                {
                    "id": self.job_id,
                    "lease_owner": self.worker,
                    "status": PersonalizationJob.Status.RUNNING,
                },
            )
            if held:
                update_where(EncoderStation, {"heartbeat_at": now}, {"id": self.station_id})
        return bool(held)
