"""Real Celery workers for tests: `manage.py run_station` (or `celery worker`) as a subprocess on
the test database and the test broker, stopped by its own PID.

Every test run names its stations (hence queues) uniquely, so two runs sharing one Redis cannot
take each other's messages; `forget_run` removes what a run leaves in Redis.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

from tests.cardedge.pcsc_harness import REPO_ROOT

# No mingle or gossip with whatever other workers share the broker; it also starts faster.
QUIET = ("--without-mingle", "--without-gossip", "--loglevel", "INFO")
READY_TIMEOUT = 60.0


def run_id() -> str:
    """A prefix for this run's station names (lower-case, digits, dashes)."""
    return f"t{secrets.token_hex(4)}"


def test_database_url() -> str:
    """DATABASE_URL of the database this test uses (pytest-django's test database)."""
    db = connection.settings_dict
    if db["ENGINE"] != "django.db.backends.postgresql":
        msg = "worker processes need a database they can share: PostgreSQL"
        raise RuntimeError(msg)
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "localhost"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{credentials}@{host}{port}/{quote(db['NAME'], safe='')}"


# What only the signer may read (docs/signer.md): a station's or the web's process gets none.
SIGNER_ONLY = (
    "CARDFORGE_SIGNER_SECRETS_FILE",
    "CARDFORGE_DEVELOPMENT_SHARED_HOST",
    "CARDFORGE_KEK",
    "CARDFORGE_KEK_FILE",
    "CARDFORGE_PKCS11_PIN",
    "CARDFORGE_PKCS11_PIN_FILE",
)


def worker_environment(**extra: str) -> dict[str, str]:
    """A station's (or the web's) environment: this process's, pointed at the test database
    and broker, without anything only the signer may read."""
    environment = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONUNBUFFERED": "1",
    }
    environment.pop("CARDFORGE_TEST_CUE", None)
    for name in SIGNER_ONLY:
        environment.pop(name, None)
    environment.update(extra)
    return environment


def signer_secrets_file() -> Path:
    """The signer's secrets file this test run reads (make test names it)."""
    name = os.environ.get("CARDFORGE_SIGNER_SECRETS_FILE")
    if not name:
        msg = "the tests run with CARDFORGE_SIGNER_SECRETS_FILE set (make test)"
        raise RuntimeError(msg)
    return Path(name)


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    log_path: Path

    @classmethod
    def station(
        cls, name: str, log_path: Path, *celery_options: str, env: dict[str, str]
    ) -> WorkerProcess:
        """`manage.py run_station NAME -- OPTIONS`: exec'd into the worker, same PID."""
        return cls._start(
            [sys.executable, "manage.py", "run_station", name, "--", *QUIET, *celery_options],
            log_path,
            env,
        )

    @classmethod
    def signer(cls, log_path: Path, *celery_options: str, env: dict[str, str]) -> WorkerProcess:
        """`manage.py run_signer --secrets FILE -- OPTIONS` (the only process given the secrets
        file), exec'd into the signer's worker, same PID; its queue from env's
        CARDFORGE_SIGNER_QUEUE."""
        return cls._start(
            [
                sys.executable,
                "manage.py",
                "run_signer",
                "--secrets",
                str(signer_secrets_file()),
                "--",
                *QUIET,
                "--concurrency",
                "1",
                *celery_options,
            ],
            log_path,
            env,
        )

    @classmethod
    def queues(
        cls, queues: list[str], hostname: str, log_path: Path, *, env: dict[str, str]
    ) -> WorkerProcess:
        """A plain `celery worker` on several queues, concurrency 1."""
        args = [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", ",".join(queues)]
        args += ["--concurrency", "1", "--hostname", f"{hostname}@%h", *QUIET]
        return cls._start(args, log_path, env)

    @classmethod
    def _start(cls, args: list[str], log_path: Path, env: dict[str, str]) -> WorkerProcess:
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                args, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        return cls(process, log_path)

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        self.wait_for_log(" ready.", timeout)

    def wait_for_log(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log():
            if self.process.poll() is not None:
                msg = f"worker exited with {self.process.returncode}:\n{self.log()[-3000:]}"
                raise AssertionError(msg)
            if time.monotonic() > deadline:
                msg = f"no {text!r} in the worker log after {timeout:.0f} s:\n{self.log()[-3000:]}"
                raise AssertionError(msg)
            time.sleep(0.05)

    def wait_exit(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            msg = f"the worker is still running after {timeout:.0f} s:\n{self.log()[-3000:]}"
            raise AssertionError(msg) from None

    def stop(self, timeout: float = 20.0) -> int | None:
        """Warm shutdown (SIGTERM), then SIGKILL if it hangs; by PID only."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        return self.process.returncode


@dataclass
class PrivateRedis:
    """A Redis server of the test's own, without persistence: a restart loses every message."""

    port: int
    directory: Path
    process: subprocess.Popen[bytes]

    @classmethod
    def start(cls, directory: Path, port: int | None = None) -> PrivateRedis:
        if port is None:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
        directory.mkdir(parents=True, exist_ok=True)
        with (directory / "redis.log").open("ab") as log:
            process = subprocess.Popen(
                [
                    "redis-server",
                    *("--port", str(port), "--bind", "127.0.0.1"),
                    *("--save", "", "--appendonly", "no", "--dir", str(directory)),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        server = cls(port, directory, process)
        wait_until(server.answers, 10, f"redis-server on port {port}", interval=0.05)
        return server

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.2).ping())
        except redis.RedisError:
            return False

    def restart(self) -> None:
        """Killed (SIGKILL) and started again, empty, on the same port."""
        self.process.kill()
        self.process.wait(10)
        self.process = PrivateRedis.start(self.directory, self.port).process

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


def wait_until(predicate, timeout: float, what: str, *, interval: float = 0.1):
    """Poll `predicate` until it returns something true; AssertionError naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            msg = f"timed out after {timeout:.0f} s waiting for {what}"
            raise AssertionError(msg)
        time.sleep(interval)


def forget_run(prefix: str, queues: list[str]) -> None:
    """Delete what this run left in Redis: its queues' lists and exchange bindings, the messages
    its dead workers never acknowledged (Kombu keeps those in the `unacked` hash until the
    visibility timeout, then puts them back in their queue), and the remote-control bindings of
    its worker nodes (a SIGKILLed worker cannot remove its own)."""
    import redis

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    mine = set(queues)
    # Celery names each queue's direct exchange after it.
    bindings = [f"_kombu.binding{kind}.{queue}" for queue in queues for kind in ("", "_permanent")]
    client.delete(*queues, *bindings)
    for tag, raw in client.hscan_iter("unacked"):
        try:
            _message, _exchange, routing_key = json.loads(raw)
        except (ValueError, TypeError):
            continue
        if routing_key in mine:
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)
    for member in client.sscan_iter("_kombu.binding.celery.pidbox"):
        if prefix.encode() in member:
            client.srem("_kombu.binding.celery.pidbox", member)
    client.close()
