"""One-row INSERT and UPDATE statements, and a primary-key SELECT, in SQL, for the few paths
that run them on every card.

A personalization job writes its journal, lease and heartbeat about a dozen times a card, and
every audited change appends to the audit chain. Built from a queryset, such a statement costs
Django several times more Python (the query object, its lookups, the compiler) than the
database spends running it (benchmarks/personalization.py, docs/performance.md). Here the SQL
text and each column's adapter are made once per model, columns and database, from the model's
own metadata, and values are always passed as parameters.

No validation, no signals, no `save()` overrides: callers pass values that are already clean,
for models that have none of these (or whose `save()` these paths replace on purpose). They run
on the caller's connection, inside the caller's transaction.
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
def _select_pks(model: type[models.Model], keys: tuple[str, ...], lock: bool, vendor: str):
    quote = connection.ops.quote_name
    pk = quote(model._meta.pk.column)
    sql = f"SELECT {pk} FROM {quote(model._meta.db_table)} WHERE {_where(model, keys)}"  # noqa: S608
    if lock and connection.features.has_select_for_update:
        sql += " FOR UPDATE"  # SQLite has none: its writers take the database at BEGIN IMMEDIATE
    return sql, [column_adapter(field, vendor) for field in _fields(model, keys)]


def pks_where(
    model: type[models.Model], where: Mapping[str, object], *, for_update: bool = False
) -> list:
    """The primary keys of the `model` rows where every `where` column equals its value, in no
    particular order; `for_update` locks those rows until the transaction ends."""
    _refuse_none("pks_where", where)
    sql, adapters = _select_pks(model, tuple(where), for_update, connection.vendor)
    params = [adapt(value) for adapt, value in zip(adapters, where.values(), strict=True)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]
