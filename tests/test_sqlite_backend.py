"""config/sqlite_backend: on a database file, a writer waits for the one in a transaction and
goes on the moment it commits or rolls back, whether it opens a transaction or writes one
statement in autocommit mode. These tests open their own database file, whatever database the
suite runs on (an in-memory test database has no other writer to queue behind)."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from django.db import OperationalError

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


def _queued_on(path: str, *, unless: threading.Event | None = None, give_up_after=10.0) -> bool:
    """Whether a writer is (or comes to be) blocked in the kernel waiting for the flock on
    `path`: /proc/locks lists each blocked waiter with "->" before the lock's device:inode.
    False as soon as `unless` is set (the writer went on without queueing); `give_up_after`
    only keeps a broken backend from hanging the test."""
    stat = Path(path).stat()
    inode = f"{os.major(stat.st_dev):02x}:{os.minor(stat.st_dev):02x}:{stat.st_ino} "
    deadline = time.monotonic() + give_up_after
    while time.monotonic() < deadline and not (unless and unless.is_set()):
        for line in Path("/proc/locks").read_text().splitlines():
            if "->" in line and "FLOCK" in line and inode in line:
                return True
        time.sleep(0.005)
    return False


def _without_busy_handler(wrapper: DatabaseWrapper) -> DatabaseWrapper:
    """SQLite's own lock, when met, fails at once ("database is locked") instead of sleeping in
    its busy handler: a writer that still succeeds queued on the lock file, in the kernel."""
    wrapper.connection.execute("PRAGMA busy_timeout = 0")
    return wrapper


@pytest.mark.parametrize("ending", ["commit", "rollback"])
@pytest.mark.parametrize("second_writes", ["in a transaction", "in autocommit mode"])
def test_a_second_writer_waits_for_the_first_and_goes_on_when_it_ends(
    database, ending, second_writes
):
    first, open_connection = database
    second = _without_busy_handler(open_connection())
    lock = f"{first.settings_dict['NAME']}.writers"
    done = threading.Event()
    failed: list[Exception] = []

    def write() -> None:
        try:
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
        except (sqlite3.OperationalError, OperationalError) as error:  # database is locked
            failed.append(error)
        done.set()

    first.set_autocommit(False)
    first._start_transaction_under_autocommit()
    with first.cursor() as cursor:
        cursor.execute("UPDATE counter SET value = value + 1 WHERE id = 1")
    writer = threading.Thread(target=write)
    writer.start()
    assert _queued_on(lock, unless=done), (
        f"the second writer did not queue on the lock file: {failed}"
    )
    assert not done.is_set()

    first.commit() if ending == "commit" else first.rollback()
    first.set_autocommit(True)
    assert done.wait(10), "the second writer never went on"
    writer.join()

    # Woken when the lock was released, not by SQLite's busy handler (which it has not).
    assert failed == []
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
    holder_path = f"{first.settings_dict['NAME']}.writers"
    holder = os.open(holder_path, os.O_RDWR)
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
        if writes == "reads":
            assert done.wait(10), "a read waited for the writers' lock"
        else:
            assert _queued_on(holder_path, unless=done), "a write did not queue on the lock file"
            assert not done.is_set()
    finally:
        os.close(holder)  # releases the lock
    assert done.wait(10)
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

    lock = f"{first.settings_dict['NAME']}.writers"
    child_queued = threading.Event()

    def take_the_lock() -> bool:
        # The inherited connection believes it holds the lock (the parent does): it must
        # queue behind the parent all the same.
        taken = first._take_writer_lock()
        first._release_writer_lock()
        return taken

    def release_once_the_child_queues() -> None:
        if _queued_on(lock):
            child_queued.set()
        first.rollback()
        first.set_autocommit(True)

    releaser = threading.Thread(target=release_once_the_child_queues)
    releaser.start()
    try:
        assert _in_child(take_the_lock) == 0
    finally:
        releaser.join()
    assert child_queued.is_set(), "the child took the lock while the parent held it"
