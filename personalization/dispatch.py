"""Where personalization's Celery tasks are sent from, by name.

Services queue work through these functions without importing personalization/tasks.py (which
imports the services): no import circle, and one place that says which task goes to which queue.
With `task_always_eager` (development, some tests) the task runs in this process, as
`apply_async` would have done; `send_task` alone would not honour it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import NamedTuple

from celery import current_app
from django.conf import settings

PERSONALIZE_CARD = "personalization.tasks.personalize_card"
STATION_HEARTBEAT = "personalization.tasks.station_heartbeat_task"
SIGN_JOB = "signer.tasks.sign_job"


def eager_task(name: str):
    """The task `name`, its module imported first: a worker has imported it (autodiscovery),
    but a web process or a benchmark running tasks eagerly may not have."""
    importlib.import_module(name.rpartition(".")[0])
    return current_app.tasks[name]


def _send(name: str, *, args: list, queue: str, **options) -> None:
    if current_app.conf.task_always_eager:
        eager_task(name).apply(args=args)
        return
    current_app.send_task(name, args=args, queue=queue, **options)


def personalization_send(job) -> None:
    """Ask job's station (its own queue, `station.NAME`) to run it."""
    _send(PERSONALIZE_CARD, args=[job.pk], queue=job.station.queue)


def station_ping_send(station) -> None:
    """Ask the station's worker to answer on its own queue (a silent one shows offline)."""
    _send(STATION_HEARTBEAT, args=[station.pk], queue=station.queue, expires=15)


class SignerAnswer(NamedTuple):
    """The signer's answer in this process: "signed", "already signed", "refused" or "failed";
    when it signed now, its step's journal entry and the certificates it issued (DER by slot,
    public), which spare the station's run reading them back."""

    outcome: str
    detail: dict | None = None
    certificates: dict[str, bytes] | None = None


_signer_here: Callable[..., SignerAnswer] | None = None


def signer_here_register(handler: Callable[..., SignerAnswer]) -> None:
    """The signer's answer in this process, for in-process runs (SignerConfig.ready())."""
    global _signer_here  # noqa: PLW0603 - one handler per process, registered at start-up
    _signer_here = handler


def signer_request_here(request: dict, *, job=None, journal: dict | None = None) -> SignerAnswer:
    """The signer's answer to `request`, made in this process (station and signer in one
    process: tests, eager execution, the benchmark); the caller's run goes on. No message, so
    nothing to sign: the request never leaves the process. `job` and `journal`, as the caller
    loaded them, spare the signer reading them again (it checks the job again on its locked
    row before it records anything)."""
    if _signer_here is None:
        msg = "no signer in this process: the signer app is not installed"
        raise RuntimeError(msg)
    return _signer_here(request, job=job, journal=journal)


def signer_request_send(envelope: str) -> None:
    """Send a station's signed request (pki/envelopes.py) to the signer's worker (its own
    queue, docs/signer.md); it sends the job back to its station when done."""
    _send(SIGN_JOB, args=[envelope], queue=settings.CARDFORGE_SIGNER_QUEUE)
