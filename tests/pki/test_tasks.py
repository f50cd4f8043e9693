"""The Celery side: beat schedule entries resolve to registered tasks; tasks are idempotent."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from config.celery import app
from pki import tasks
from pki.models import CertificateRevocationList


def test_beat_schedule_names_registered_tasks():
    app.loader.import_default_modules()
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["pki-generate-crls"]["task"] == "pki.tasks.crls_generate"
    assert schedule["pki-generate-crls"]["schedule"] == settings.PKI_CRL_REFRESH_MINUTES * 60
    for entry in schedule.values():
        assert entry["task"] in app.tasks


def test_scheduled_crl_generation(pki):
    numbers = dict(CertificateRevocationList.objects.values_list("ca_id", "number"))
    assert tasks.crls_generate.delay().get() == len(numbers)
    for ca_id, number in numbers.items():
        assert CertificateRevocationList.objects.get(ca_id=ca_id).number == number + 1


def test_redelivered_regeneration_does_no_work_twice(pki):
    ca = pki.software.authentication
    asked = timezone.now().isoformat()
    first = tasks.crl_regenerate.delay(ca.pk, asked).get()
    assert tasks.crl_regenerate.delay(ca.pk, asked).get() == first
    assert tasks.crl_regenerate.delay(999_999, asked).get() is None


def test_broker_failure_falls_back_to_generating_in_process(pki, monkeypatch):
    ca = pki.software.qualified
    before = CertificateRevocationList.objects.get(ca=ca).number

    def unavailable(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.crl_regenerate, "delay", unavailable)
    tasks.queue_crl_regeneration(ca_id=ca.pk, requested_at=timezone.now())
    assert CertificateRevocationList.objects.get(ca=ca).number == before + 1


def test_responder_renewal_task(pki):
    assert tasks.ocsp_responders_renew.delay().get() == 0
