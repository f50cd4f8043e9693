"""Celery worker signals: a station shows online as soon as its worker is ready and offline as
soon as it stops, instead of at the next `ping_stations` (every 15 s) or after
CARDFORGE_STATION_OFFLINE_SECONDS. Connected in PersonalizationConfig.ready()."""

from __future__ import annotations

import logging

from celery.signals import worker_init, worker_ready, worker_shutdown
from django.conf import settings
from django.db import DatabaseError

from personalization.station_host import station_host_check
from personalization.station_states import stations_worker_started, stations_worker_stopped

logger = logging.getLogger(__name__)
STATION_QUEUE_PREFIX = "station."


def _station_names(app) -> list[str]:
    """The stations whose queues (`station.<name>`) this worker consumes."""
    return [
        name.removeprefix(STATION_QUEUE_PREFIX)
        for name in app.amqp.queues.consume_from
        if name.startswith(STATION_QUEUE_PREFIX)
    ]


@worker_init.connect(dispatch_uid="personalization.station_worker_init")
def station_worker_init(sender, **kwargs) -> None:
    """A worker that serves stations (CARDFORGE_STATIONS, set by run_station) does not start
    where the signer's secrets are readable (personalization/station_host.py)."""
    if settings.CARDFORGE_STATIONS:
        station_host_check()


@worker_ready.connect(dispatch_uid="personalization.station_worker_ready")
def station_worker_ready(sender, **kwargs) -> None:
    names = _station_names(sender.app)
    if names:
        try:
            stations_worker_started(names=names, worker=sender.hostname)
        except DatabaseError:
            logger.warning("could not record that stations %s are online", names, exc_info=True)


@worker_shutdown.connect(dispatch_uid="personalization.station_worker_shutdown")
def station_worker_shutdown(sender, **kwargs) -> None:
    names = _station_names(sender.app)
    if names:
        try:
            stations_worker_stopped(names=names, worker=sender.hostname)
        except DatabaseError:
            logger.warning("could not record that stations %s are offline", names, exc_info=True)
