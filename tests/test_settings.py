"""Settings come from the environment, are validated at start-up, and fail with clear messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.utils import ConnectionHandler
from psycopg import IsolationLevel

from config.env import DatabaseURL, env_bool, env_int, load_dotenv

ROOT = Path(__file__).resolve().parent.parent


def _start_django(**env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT,
        env={**environment, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_secret_key_is_required_when_debug_is_off():
    result = _start_django(DEBUG="0", SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in result.stderr


def test_a_bad_boolean_names_the_variable():
    result = _start_django(DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


def test_a_bad_database_url_names_the_problem():
    result = _start_django(DATABASE_URL="mysql://db/cardforge")
    assert result.returncode != 0
    assert "DATABASE_URL: unsupported scheme 'mysql'" in result.stderr


def test_secret_key_from_a_file(tmp_path):
    secret = tmp_path / "secret_key"
    secret.write_text("from-a-file-" + "x" * 40 + "\n")
    result = _start_django(DEBUG="0", SECRET_KEY="", SECRET_KEY_FILE=str(secret))
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_development_default_is_refused_by_check_deploy():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "1", "SECRET_KEY": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "security.W009" in result.stderr  # the django-insecure- development key


def test_database_urls(tmp_path):
    sqlite = DatabaseURL.parse("sqlite:///var/x.sqlite3", base_dir=tmp_path).settings
    assert sqlite["NAME"] == str(tmp_path / "var" / "x.sqlite3")
    absolute = DatabaseURL.parse("sqlite:////srv/db.sqlite3", base_dir=tmp_path).settings
    assert absolute["NAME"] == "/srv/db.sqlite3"
    pg = DatabaseURL.parse(
        "postgres://u:p%40ss@db.example:5433/cards?sslmode=require", base_dir=tmp_path
    )
    assert pg.settings["ENGINE"] == "django.db.backends.postgresql"
    assert (pg.settings["USER"], pg.settings["PASSWORD"]) == ("u", "p@ss")
    assert (pg.settings["HOST"], pg.settings["PORT"], pg.settings["NAME"]) == (
        "db.example",
        "5433",
        "cards",
    )
    assert pg.settings["OPTIONS"] == {"sslmode": "require"}
    with pytest.raises(ImproperlyConfigured, match="needs a database name"):
        DatabaseURL.parse("postgres://db.example", base_dir=tmp_path)


def test_postgres_url_options_get_the_types_django_reads_them_by(tmp_path):
    """As text, server_side_binding=1 was silently ignored and pool=false turned the pool on."""
    url = (
        "postgres://db.example/cards?sslmode=require&connect_timeout=5&server_side_binding=1"
        "&pool=off&isolation_level=repeatable%20read&prepare_threshold=3"
    )
    options = DatabaseURL.parse(url, base_dir=tmp_path).settings["OPTIONS"]
    assert options == {
        "sslmode": "require",
        "connect_timeout": "5",  # libpq's own parameters stay text
        "server_side_binding": True,
        "pool": False,
        "isolation_level": IsolationLevel.REPEATABLE_READ,
        "prepare_threshold": 3,
    }
    never = DatabaseURL.parse("postgres://h/db?prepare_threshold=None", base_dir=tmp_path)
    assert never.settings["OPTIONS"] == {"prepare_threshold": None}
    for query, message in (
        ("server_side_binding=maybe", "option server_side_binding must be a boolean"),
        ("pool=2", "option pool must be a boolean"),
        ("isolation_level=snapshot", "option isolation_level must be one of read uncommitted"),
        ("prepare_threshold=-1", "option prepare_threshold must be a whole number"),
    ):
        with pytest.raises(ImproperlyConfigured, match=message):
            DatabaseURL.parse(f"postgres://h/db?{query}", base_dir=tmp_path)


@pytest.mark.postgres
@pytest.mark.django_db
def test_server_side_binding_from_the_url_takes_effect(tmp_path):
    """A connection opened from such a URL binds its parameters on the server."""
    database = connection.settings_dict
    url = (
        f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
        f"{database['NAME']}?server_side_binding=yes&prepare_threshold=0"
    )
    handler = ConnectionHandler({"default": DatabaseURL.parse(url, base_dir=tmp_path).settings})
    opened = handler["default"]
    try:
        with opened.cursor() as cursor:
            assert type(cursor.cursor).__name__ == "ServerBindingCursor"
            cursor.execute("SELECT %s::int + 1", [41])
            assert cursor.fetchone() == (42,)
    finally:
        opened.close()


def test_typed_readers(monkeypatch):
    monkeypatch.setenv("X_FLAG", "Yes")
    assert env_bool("X_FLAG", default=False) is True
    monkeypatch.setenv("X_NUMBER", "12a")
    with pytest.raises(ImproperlyConfigured, match="X_NUMBER must be an integer"):
        env_int("X_NUMBER", default=1)
    monkeypatch.setenv("X_NUMBER", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int("X_NUMBER", default=1, minimum=1)


def test_dotenv_does_not_override_the_environment(tmp_path, monkeypatch):
    from config import env

    monkeypatch.setattr(env, "_dotenv", {})
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        '# comment\nX_FROM_FILE="quoted value"\nX_ALREADY=file\nX_NOTED=0    # a note\nX_EMPTY=   # nothing\n'
    )
    monkeypatch.setenv("X_ALREADY", "environment")
    monkeypatch.delenv("X_FROM_FILE", raising=False)
    monkeypatch.delenv("X_NOTED", raising=False)
    monkeypatch.delenv("X_EMPTY", raising=False)
    load_dotenv(dotenv)
    assert env.env_str("X_FROM_FILE") == "quoted value"
    assert env.env_str("X_NOTED") == "0"
    assert env.env_str("X_EMPTY", "default") == "default"
    assert env.env_str("X_ALREADY") == "environment"
    assert "X_FROM_FILE" not in os.environ  # .env never enters the environment
    dotenv.write_text("not a pair\n")
    with pytest.raises(ImproperlyConfigured, match="line 1: expected KEY=value"):
        load_dotenv(dotenv)


def _celery_settings(**env: str) -> dict:
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({'options': getattr(s, 'CELERY_BROKER_TRANSPORT_OPTIONS', None), "
        "'cancel': s.CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, **env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_redis_gives_a_dead_workers_message_to_another_after_ten_minutes_not_an_hour():
    celery = _celery_settings(CELERY_BROKER_URL="redis://127.0.0.1:6379/9")
    assert celery["options"] == {"visibility_timeout": 600}
    # A broker that blinks does not abandon a card half-made (Celery 6 default would).
    assert celery["cancel"] is False


def test_the_embedded_broker_keeps_all_its_folders_under_the_var_directory(tmp_path):
    celery = _celery_settings(CELERY_BROKER_URL="filesystem://", CARDFORGE_VAR_DIR=str(tmp_path))
    folders = {key: value for key, value in celery["options"].items() if key.endswith("_folder")}
    folders |= {"in": celery["options"]["data_folder_in"]}
    assert all(value.startswith(str(tmp_path)) for value in folders.values()), folders
    assert (tmp_path / "broker" / "control").is_dir()


def test_sign_in_settings_are_checked_and_a_zero_cool_off_locks_until_unlocked():
    result = _start_django(CARDFORGE_TRUSTED_PROXY_COUNT="-1")
    assert result.returncode != 0
    assert "CARDFORGE_TRUSTED_PROXY_COUNT must be at least 0" in result.stderr
    result = _start_django(CARDFORGE_LOGIN_FAILURE_LIMIT="ten")
    assert "CARDFORGE_LOGIN_FAILURE_LIMIT must be an integer" in result.stderr
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "from accounts.lockout import lock_message; "
            "print(settings.AXES_COOLOFF_TIME, lock_message())",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "CARDFORGE_LOGIN_COOLOFF_MINUTES": "0",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("None ")
    assert "It stays locked, or ask an administrator to unlock it" in result.stdout
