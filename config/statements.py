"""The SQL that bypasses the ORM, all of it here, with the rule for when a path may.

A personalization job writes its journal, lease and heartbeat about a dozen times a card, every
audited change locks and moves the audit chain's head, and OCSP reads a certificate's status on
every request. Built from a queryset, such a statement costs Django several times more Python
(the query object, its lookups, the compiler) than the database spends running it
(benchmarks/personalization.py, benchmarks/pki.py, docs/performance.md). Here the SQL text and
each column's adapter are made once per model, columns and database, from the model's own
metadata; identifiers are quoted and values always passed as parameters.

The rule. A path may use these instead of the ORM only when
- it runs on every card, every audited change or every OCSP request (a measured hot path), and
- the model has no validation, signal or `save()` override it would skip (or the path replaces
  them on purpose, and says so), and
- it keeps what the ORM path kept: a job's writes carry the lease condition (`lease_owner`) in
  their WHERE, or run after a locked check of it, so a worker that lost its job changes nothing;
  a change that must be audited writes its audit event in the same transaction
  (`audit_record`, which itself uses `values_where`/`update_where` on the chain head).
Everything else uses the ORM. Statements run on the caller's connection, inside the caller's
transaction; none of them commits. The one other module that writes in SQL is config/bulk.py:
the multi-row INSERT of a CSV import (thousands of rows in one statement), under the same rule
and with the same column adapters.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import cache

from django.db import connection, models


def column_adapter(field: models.Field, vendor: str) -> Callable:
    """How a value of `field` goes to the database as a parameter (also config/bulk.py)."""
    if isinstance(field, models.JSONField):
        return json.dumps  # plain JSON types (audit.chain.check_payload, journal details)
    if isinstance(field, models.DateTimeField) and vendor != "postgresql":
        return _adapt_datetime
    return lambda value: value


def _adapt_datetime(value):
    # Looked up at each call: the caches below outlive any one thread's connection.
    return connection.ops.adapt_datetimefield_value(value)


def _fields(model: type[models.Model], names: tuple[str, ...]) -> list[models.Field]:
    return [model._meta.get_field(name) for name in names]  # attnames (`job_id`) resolve too


@cache
def _insert(model: type[models.Model], columns: tuple[str, ...], vendor: str):
    fields = _fields(model, columns)
    quote = connection.ops.quote_name
    names = ", ".join(quote(field.column) for field in fields)
    marks = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({names}) VALUES ({marks})"  # noqa: S608
    return sql, [column_adapter(field, vendor) for field in fields]


def _where(model: type[models.Model], keys: tuple[str, ...]) -> str:
    quote = connection.ops.quote_name
    return " AND ".join(f"{quote(field.column)} = %s" for field in _fields(model, keys))


def _refuse_none(caller: str, where: Mapping[str, object]) -> None:
    if None in where.values():
        msg = f"{caller}: a None condition never matches ({', '.join(where)})"
        raise ValueError(msg)


@cache
def _update(
    model: type[models.Model], columns: tuple[str, ...], keys: tuple[str, ...], vendor: str
):
    quote = connection.ops.quote_name
    sets = ", ".join(f"{quote(field.column)} = %s" for field in _fields(model, columns))
    where = _where(model, keys)
    sql = f"UPDATE {quote(model._meta.db_table)} SET {sets} WHERE {where}"  # noqa: S608
    adapters = [column_adapter(field, vendor) for field in _fields(model, columns + keys)]
    return sql, adapters


def insert_one(model: type[models.Model], values: Mapping[str, object]) -> None:
    """INSERT one row of `model`: `values` by field name or attname, the rest left to the
    database's defaults (so every NOT NULL column without one must be given)."""
    columns = tuple(values)
    sql, adapters = _insert(model, columns, connection.vendor)
    params = [adapt(value) for adapt, value in zip(adapters, values.values(), strict=True)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def update_where(
    model: type[models.Model], values: Mapping[str, object], where: Mapping[str, object]
) -> int:
    """UPDATE `model` SET `values` WHERE every `where` column equals its value; returns the
    number of rows changed (0: no row matched, as a conditional update's check). A `where`
    value of None is refused: `column = NULL` would match nothing."""
    _refuse_none("update_where", where)
    sql, adapters = _update(model, tuple(values), tuple(where), connection.vendor)
    params = [
        adapt(value)
        for adapt, value in zip(adapters, [*values.values(), *where.values()], strict=True)
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


@cache
def _select(
    model: type[models.Model],
    columns: tuple[str, ...],
    keys: tuple[str, ...],
    lock: bool,
    vendor: str,
):
    quote = connection.ops.quote_name
    names = ", ".join(quote(field.column) for field in _fields(model, columns))
    table = quote(model._meta.db_table)
    sql = f"SELECT {names} FROM {table} WHERE {_where(model, keys)}"  # noqa: S608
    if lock and connection.features.has_select_for_update:
        # SQLite has none: its writers take the database at BEGIN IMMEDIATE. On PostgreSQL, as
        # every select_for_update here: NO KEY UPDATE, which does not block a row being
        # inserted that refers to the locked one (FOR UPDATE did, and deadlocked with a
        # transaction holding the audit trail's head; see docs/architecture.md).
        sql += " FOR NO KEY UPDATE" if vendor == "postgresql" else " FOR UPDATE"
    return sql, [column_adapter(field, vendor) for field in _fields(model, keys)]


def values_where(
    model: type[models.Model],
    columns: tuple[str, ...],
    where: Mapping[str, object],
    *,
    for_update: bool = False,
) -> list[tuple]:
    """The `columns` (field names or attnames) of the `model` rows where every `where` column
    equals its value, as tuples in no particular order, values as the database driver returns
    them; `for_update` locks those rows until the transaction ends."""
    _refuse_none("values_where", where)
    sql, adapters = _select(model, columns, tuple(where), for_update, connection.vendor)
    params = [adapt(value) for adapt, value in zip(adapters, where.values(), strict=True)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def pks_where(
    model: type[models.Model], where: Mapping[str, object], *, for_update: bool = False
) -> list:
    """The primary keys of the `model` rows where every `where` column equals its value, in no
    particular order; `for_update` locks those rows until the transaction ends."""
    _refuse_none("pks_where", where)
    rows = values_where(model, (model._meta.pk.name,), where, for_update=for_update)
    return [row[0] for row in rows]
