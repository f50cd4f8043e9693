"""Personalization with the signer separated, as production runs it: a station worker
(`manage.py run_station`, no KEK, no HSM PIN) and the signer's worker (`manage.py run_signer
--secrets FILE`) as two processes, talking through Redis (two round trips a card: the station's
signed request, the signer's resume), on PostgreSQL. Next to it, in the same run and on the same
database: the same code with station and signer in one process (Celery eager, as
`benchmarks.personalization` measures it), and the bare cryptography of the same cards.

    CARDFORGE_SIGNER_SECRETS_FILE=var/signer.env \\
      .venv/bin/python -m benchmarks.separated_workers \\
        --database-url postgres://postgres@127.0.0.1:5432/postgres \\
        --broker redis://127.0.0.1:6379/14 [--cards 40]

The benchmark works in a fresh test database on that server and a queue of its own on that
broker, starts both workers itself and stops them by PID. Not a test: run it, read the ratios.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from benchmarks import personalization as bench

PROFILE = "hpc-physician"
SIGNER_ONLY = (
    "CARDFORGE_SIGNER_SECRETS_FILE",
    "CARDFORGE_DEVELOPMENT_SHARED_HOST",
    "CARDFORGE_KEK",
    "CARDFORGE_KEK_FILE",
    "CARDFORGE_PKCS11_PIN",
    "CARDFORGE_PKCS11_PIN_FILE",
)
READY_SECONDS = 60.0


def _database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{credentials}@{db['HOST'] or 'localhost'}{port}/{db['NAME']}"


class Worker:
    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                args, cwd=bench_root(), env=env, stdout=out, stderr=subprocess.STDOUT
            )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_SECONDS
        while " ready." not in self.log.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = self.log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"worker did not start:\n{tail}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def bench_root() -> Path:
    return Path(__file__).resolve().parent.parent


def _wait_done(job_ids: list[int], timeout: float) -> float:
    """Seconds until every job is done (polling the database); raises on a failed job."""
    from django.db.models import Count

    from personalization.models import PersonalizationJob

    deadline = time.monotonic() + timeout
    while True:
        statuses = dict(
            PersonalizationJob.objects.filter(pk__in=job_ids)
            .values_list("status")
            .annotate(count=Count("pk"))
        )
        if statuses.get("failed"):
            failed = PersonalizationJob.objects.filter(pk__in=job_ids, status="failed").first()
            raise RuntimeError(
                f"job {failed.pk} failed: {failed.error_code} {failed.error_message}"
            )
        if statuses.get("done", 0) == len(job_ids):
            return time.monotonic()
        if time.monotonic() > deadline:
            raise RuntimeError(f"jobs not done after {timeout:.0f} s: {statuses}")
        time.sleep(0.05)


def _explain(job_ids: list[int], workers: list[Worker]) -> None:
    """What a stalled run needs to be understood: each job unfinished, its journal, and the
    end of each worker's log (printed to stderr before the error)."""
    from personalization.models import JobStep, PersonalizationJob

    for job in PersonalizationJob.objects.filter(pk__in=job_ids).exclude(status="done"):
        steps = list(JobStep.objects.filter(job=job).order_by("pk").values_list("attempt", "name"))
        print(
            f"job {job.pk}: {job.status} attempt {job.attempt} step {job.current_step!r} "
            f"lease {job.lease_owner!r} heartbeat {job.heartbeat_at}; journal {steps}",
            file=sys.stderr,
        )
    for worker in workers:
        print(f"--- {worker.log.name}", file=sys.stderr)
        print(worker.log.read_text(errors="replace")[-4000:], file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="a PostgreSQL server's URL")
    parser.add_argument("--broker", required=True, help="a Redis URL (a database of its own)")
    parser.add_argument("--cards", type=int, default=40, help="cards per path (40)")
    args = parser.parse_args()
    if not os.environ.get("CARDFORGE_SIGNER_SECRETS_FILE"):
        sys.exit("set CARDFORGE_SIGNER_SECRETS_FILE (the signer's secrets, as make test does)")

    tag = secrets.token_hex(3)
    os.environ["CELERY_BROKER_URL"] = args.broker
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"
    os.environ["CARDFORGE_SIGNER_QUEUE"] = f"signer-bench-{tag}"
    os.environ["CARDFORGE_PKI_BASE_URL"] = "http://pki.example.org"
    os.environ["CARDFORGE_DEVELOPMENT_SHARED_HOST"] = "1"  # this process enrols the station
    from benchmarks.django_setup import setup

    scratch = setup(args.database_url)
    workers: list[Worker] = []
    try:
        run(args, tag, scratch, workers)
    finally:
        for worker in workers:
            worker.stop()
        from django.db import connection

        connection.creation.destroy_test_db(
            connection.settings_dict["NAME"].removeprefix("test_"), verbosity=0
        )
        shutil.rmtree(scratch, ignore_errors=True)


def run(args, tag: str, scratch: Path, workers: list[Worker]) -> None:
    from config.celery import app
    from issuance.identity import identity_of
    from personalization.models import EncoderStation, PersonalizationJob
    from personalization.services.stations import station_create
    from pki.profiles import professional_name
    from signer.stations import station_enrol_here

    count = args.cards
    world = bench.build_world(3 * count + 2, processes=1)
    pool = iter(world.professionals)
    slots = world.slots[PROFILE]

    # 1. In one process (eager): the reference on this database. One warm-up card first.
    app.conf.task_always_eager = True
    bench.service_card(world, PROFILE, next(pool))
    started = time.perf_counter()
    in_process = [bench.service_card(world, PROFILE, next(pool)).pk for _ in range(count)]
    in_process_seconds = time.perf_counter() - started

    # 2. Bare cryptography of as many cards.
    subjects = [professional_name(identity_of(next(pool))) for _ in range(count)]
    started = time.perf_counter()
    for subject in subjects:
        bench.bare_card(slots, subject, world.ca_keys)
    bare_seconds = time.perf_counter() - started

    # 3. Separated: a station worker and the signer's worker, on Redis.
    app.conf.task_always_eager = False
    EncoderStation.objects.update(takes_approved_requests=False)
    station = station_create(
        name=f"bench-{tag}", transport="emulated", takes_approved_requests=True
    )
    station_enrol_here(station)
    env = {**os.environ, "DATABASE_URL": _database_url(), "PYTHONUNBUFFERED": "1"}
    station_env = {name: value for name, value in env.items() if name not in SIGNER_ONLY}
    quiet = ["--without-mingle", "--without-gossip", "--loglevel", "INFO"]
    manage = [sys.executable, "manage.py"]
    workers.append(
        Worker(
            [
                *manage,
                "run_signer",
                "--secrets",
                os.environ["CARDFORGE_SIGNER_SECRETS_FILE"],
                "--",
                *quiet,
                "--concurrency",
                "1",
            ],
            station_env,
            scratch / "signer.log",
        )
    )
    workers.append(
        Worker(
            [*manage, "run_station", station.name, "--", *quiet],
            station_env,
            scratch / "station.log",
        )
    )
    for worker in workers:
        worker.wait_ready()
    warm = bench.service_card(world, PROFILE, next(pool))  # the workers' first card: untimed
    _wait_done([PersonalizationJob.objects.get(card_request=warm).pk], 120)
    started = time.monotonic()
    separated = [bench.service_card(world, PROFILE, next(pool)).pk for _ in range(count)]
    jobs = list(
        PersonalizationJob.objects.filter(card_request_id__in=separated).values_list(
            "pk", flat=True
        )
    )
    try:
        separated_seconds = _wait_done(jobs, 60 + 5 * count) - started
    except RuntimeError:
        _explain(jobs, workers)
        raise

    cards = bench.verify_cards([*in_process, *separated, warm.pk], world.ca_keys)
    print(f"# CardForge separated-signer benchmark — PostgreSQL, Redis, {os.cpu_count()} CPUs")
    print(f"# {count} {PROFILE} cards per path; checked afterwards: {cards} cards personalized\n")
    print("| path | seconds | cards/s | ratio to bare |")
    print("|---|---:|---:|---:|")
    for name, seconds in (
        ("bare cryptography (one process)", bare_seconds),
        ("station and signer in one process (eager)", in_process_seconds),
        ("station worker + signer worker on Redis", separated_seconds),
    ):
        print(f"| {name} | {seconds:.2f} | {count / seconds:.1f} | {seconds / bare_seconds:.2f} |")
    print(
        f"\nseparated / one process: {in_process_seconds / separated_seconds:.0%} of the cards "
        "per second (the separated path runs submissions, the station and the signer on the "
        "machine's cores at once)"
    )


if __name__ == "__main__":
    main()
