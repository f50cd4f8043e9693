"""config/sqlite_backend: on a database file, a writer waits for the one in a transaction and
goes on the moment it commits or rolls back, whether it opens a transaction or writes one
statement in autocommit mode. These tests open their own database file, whatever database the
suite runs on (an in-memory test database has no other writer to queue behind)."""

from __future__ import annotations

import fcntl
import os
import threading
import time

import pytest

from config.env import sqlite_settings
from config.sqlite_backend.base import DatabaseWrapper


@pytest.fixture
def database(tmp_path, django_db_blocker):
    """Two connections (as two processes would have) to a new database file."""
    with django_db_blocker.unblock():
        yield from _database(tmp_path)


def _database(tmp_path):
    settings = sqlite_settings(tmp_path / "writers.sqlite3")
    opened = []

    def open_connection() -> DatabaseWrapper:
        wrapper = DatabaseWrapper(
            {**settings, "TIME_ZONE": None, "AUTOCOMMIT": True, "CONN_HEALTH_CHECKS": False},
            alias="writers",
        )
        wrapper.inc_thread_sharing()  # used from the test's writer thread
        wrapper.ensure_connection()
        opened.append(wrapper)
        return wrapper

    first = open_connection()
    with first.cursor() as cursor:
        cursor.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER)")
        cursor.execute("INSERT INTO counter VALUES (1, 0)")
    yield first, open_connection
    for wrapper in opened:
        wrapper.close()


def _value(wrapper: DatabaseWrapper) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT value FROM counter WHERE id = 1")
        return cursor.fetchone()[0]


@pytest.mark.parametrize("ending", ["commit", "rollback"])
@pytest.mark.parametrize("second_writes", ["in a transaction", "in autocommit mode"])
def test_a_second_writer_waits_for_the_first_and_goes_on_when_it_ends(
    database, ending, second_writes
):
    first, open_connection = database
    second = open_connection()
    done = threading.Event()

    def write() -> None:
        if second_writes == "in a transaction":
            second.set_autocommit(False)  # what transaction.atomic() does on this connection
            second._start_transaction_under_autocommit()
            with second.cursor() as cursor:
                cursor.execute("UPDATE counter SET value = value + 10 WHERE id = 1")
            second.commit()
            second.set_autocommit(True)
        else:
            with second.cursor() as cursor:
                cursor.execute("UPDATE counter SET value = value + 10 WHERE id = 1")
        done.set()

    first.set_autocommit(False)
    first._start_transaction_under_autocommit()
    with first.cursor() as cursor:
        cursor.execute("UPDATE counter SET value = value + 1 WHERE id = 1")
    writer = threading.Thread(target=write)
    writer.start()
    assert not done.wait(0.5), "the second writer did not wait for the first"

    started = time.monotonic()
    first.commit() if ending == "commit" else first.rollback()
    first.set_autocommit(True)
    assert done.wait(5), "the second writer never went on"
    writer.join()

    # Woken by the kernel when the lock is released, not after SQLite's busy handler's sleeps.
    assert time.monotonic() - started < 0.5
    assert _value(first) == (11 if ending == "commit" else 10)


def test_reading_in_autocommit_mode_does_not_wait_for_a_writer(database):
    first, open_connection = database
    second = open_connection()
    first.set_autocommit(False)
    first._start_transaction_under_autocommit()
    with first.cursor() as cursor:
        cursor.execute("UPDATE counter SET value = 5 WHERE id = 1")

    assert _value(second) == 0  # WAL: the reader sees the last commit, at once

    first.commit()
    first.set_autocommit(True)
    assert _value(second) == 5


def _lock_is_free(path) -> bool:
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # releases it if taken
    return True


@pytest.mark.parametrize("ending", ["commit", "rollback", "close"])
def test_a_transaction_holds_the_writers_lock_until_it_ends(database, ending):
    first, _ = database
    lock = f"{first.settings_dict['NAME']}.writers"
    first.set_autocommit(False)
    first._start_transaction_under_autocommit()

    assert not _lock_is_free(lock)  # another process's writer would queue here

    if ending == "close":  # a worker that dies mid-transaction frees it too
        first.close()
    else:
        first.commit() if ending == "commit" else first.rollback()
        first.set_autocommit(True)
    assert _lock_is_free(lock)


@pytest.mark.parametrize("writes", ["in a transaction", "in autocommit mode", "reads"])
def test_writers_queue_on_the_lock_file_and_readers_do_not(database, writes):
    """Another process holding the writers' lock (SQLite itself free): a write waits for it in
    the kernel, a read does not."""
    first, _ = database
    holder = os.open(f"{first.settings_dict['NAME']}.writers", os.O_RDWR)
    fcntl.flock(holder, fcntl.LOCK_EX)
    done = threading.Event()

    def work() -> None:
        if writes == "in a transaction":
            first.set_autocommit(False)
            first._start_transaction_under_autocommit()
            first.commit()
            first.set_autocommit(True)
        elif writes == "in autocommit mode":
            with first.cursor() as cursor:
                cursor.execute("UPDATE counter SET value = 3 WHERE id = 1")
        else:
            _value(first)
        done.set()

    worker = threading.Thread(target=work)
    worker.start()
    try:
        assert done.wait(0.5) == (writes == "reads")
    finally:
        os.close(holder)  # releases the lock
    assert done.wait(5)
    worker.join()


def _in_child(work) -> int:
    """Run `work()` in a forked child (which inherits every connection object); its exit code:
    0 if `work` returned True, 1 if False, 2 if it raised."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 2
        try:
            code = 0 if work() else 1
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def test_a_forked_child_closing_an_inherited_connection_leaves_the_parents_lock_held(database):
    first, _ = database
    lock = f"{first.settings_dict['NAME']}.writers"
    first.set_autocommit(False)
    first._start_transaction_under_autocommit()

    def close_inherited() -> bool:
        first._release_writer_lock()  # what ending a transaction, or closing, does
        first._close()
        return True

    assert _in_child(close_inherited) == 0
    assert not _lock_is_free(lock)  # the parent's transaction still keeps other writers out
    first.rollback()
    first.set_autocommit(True)
    assert _lock_is_free(lock)


def test_a_forked_child_writing_through_an_inherited_connection_waits_for_the_parent(database):
    first, _ = database
    first.set_autocommit(False)
    first._start_transaction_under_autocommit()

    def take_the_lock() -> bool:
        # The inherited connection believes it holds the lock (the parent does): it must
        # queue behind the parent all the same.
        started = time.monotonic()
        taken = first._take_writer_lock()
        waited = time.monotonic() - started
        first._release_writer_lock()
        return taken and waited >= 0.3

    def release_later() -> None:
        time.sleep(0.5)
        first.rollback()
        first.set_autocommit(True)

    releaser = threading.Thread(target=release_later)
    releaser.start()
    try:
        assert _in_child(take_the_lock) == 0
    finally:
        releaser.join()
