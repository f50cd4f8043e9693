"""SQLite, with writers queued by the kernel instead of SQLite's busy handler.

Every transaction here begins IMMEDIATE (config/env.py), taking SQLite's write lock at BEGIN. A
process that finds it taken sleeps in SQLite's busy handler, 1, 2, 5, 10 ms and more between
tries, while the holder may release and take it again many times: with two encoder stations
(two worker processes) the second one mostly slept, and two stations personalized no more cards
than one (benchmarks/personalization.py). Here a transaction first takes an exclusive `flock`
on a file next to the database: waiters block in the kernel, are woken the moment it is
released, in turn. A write made outside a transaction (autocommit: one statement is its own
transaction) queues the same way. SQLite's own locking still guards everything (readers, other
programs), so this only changes who waits how.

A flock belongs to the open file, which a forked child shares with its parent: a connection
object inherited across fork (it should not be, but a pool process may be forked from a parent
that had one) gets a lock file descriptor of the child's own at its first use there, and never
unlocks, nor closes into, the parent's.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager

from django.db.backends.sqlite3 import base

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class _CursorWrapper(base.SQLiteCursorWrapper):
    """Queues a write made in autocommit mode behind the writers' lock."""

    database: DatabaseWrapper

    def execute(self, query, params=None):
        with self.database.queued_if_autocommit_write(query):
            return super().execute(query, params)

    def executemany(self, query, param_list):
        with self.database.queued_if_autocommit_write(query):
            return super().executemany(query, param_list)


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._writer_lock_fd: int | None = None
        self._writer_lock_pid: int | None = None  # the process that opened it
        self._writer_lock_held = False

    def _forget_inherited_writer_lock(self) -> None:
        """In a forked child: drop the parent's descriptor (closing this copy leaves the
        parent's lock alone; unlocking it would not) and whatever the parent held."""
        if self._writer_lock_fd is not None and self._writer_lock_pid != os.getpid():
            os.close(self._writer_lock_fd)
            self._writer_lock_fd = None
            self._writer_lock_held = False

    def _writer_lock(self) -> int | None:
        """This connection's descriptor of the lock file (None for an in-memory database)."""
        self._forget_inherited_writer_lock()
        if self._writer_lock_fd is None and not self.is_in_memory_db():
            path = f"{self.settings_dict['NAME']}.writers"
            self._writer_lock_fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._writer_lock_pid = os.getpid()
        return self._writer_lock_fd

    def _take_writer_lock(self) -> bool:
        fd = self._writer_lock()
        if fd is None or self._writer_lock_held:
            return False
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._writer_lock_held = True
        return True

    def _release_writer_lock(self) -> None:
        self._forget_inherited_writer_lock()
        if self._writer_lock_held:
            self._writer_lock_held = False
            fcntl.flock(self._writer_lock_fd, fcntl.LOCK_UN)

    @contextmanager
    def queued_if_autocommit_write(self, query: str):
        if self.in_atomic_block or not query.lstrip()[:7].upper().startswith(_WRITES):
            yield
            return
        taken = self._take_writer_lock()
        try:
            yield
        finally:
            if taken:
                self._release_writer_lock()

    def create_cursor(self, name=None):
        cursor = self.connection.cursor(factory=_CursorWrapper)
        cursor.database = self
        return cursor

    def _start_transaction_under_autocommit(self) -> None:
        self._take_writer_lock()
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_writer_lock()
            raise

    def _commit(self) -> None:
        try:
            super()._commit()
        finally:
            self._release_writer_lock()

    def _rollback(self) -> None:
        try:
            super()._rollback()
        finally:
            self._release_writer_lock()

    def _close(self) -> None:
        try:
            super()._close()
        finally:
            self._release_writer_lock()
            if self._writer_lock_fd is not None:
                os.close(self._writer_lock_fd)
                self._writer_lock_fd = None
