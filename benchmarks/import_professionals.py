"""CSV enrolment throughput: the real import service against bare csv + sqlite3 on the same rows.

    .venv/bin/python benchmarks/import_professionals.py [--rows 100000] [--database-url URL]

Generates a CSV of valid professionals, imports it through `professionals_import` (decode,
validate every field, match existing RPPS, bulk insert, one audit event per professional), then
re-imports it (all rows unchanged) and compares with a baseline measured in the same run: the
same file parsed by `csv` and inserted with `sqlite3.executemany` into an equivalent table,
without validation or audit. Figures: rows per second and the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sqlite3
import time

from benchmarks.django_setup import setup

FIRST = ["Élodie", "Jean", "Thảo", "Søren", "Aïssatou", "Zoé", "Mathéo", "Inès", "Łukasz", "Noé"]
LAST = ["Lefèvre", "Nguyễn", "Ødegård", "Martin", "Dubois-Légaré", "O'Connor", "Müller", "Garcia"]
PROFESSIONS = ["10", "21", "40", "50", "60", "70", "physician", "Nurse"]


def generate_csv(rows: int) -> bytes:
    from issuance.validators import luhn_check_digit

    rng = random.Random(20261129)
    out = io.StringIO()
    out.write("rpps;last_name;first_name;profession;email;postal_code;city;country\n")
    for index in range(rows):
        payload = f"1{index:09d}"
        rpps = payload + luhn_check_digit(payload)
        last, first = rng.choice(LAST), rng.choice(FIRST)
        out.write(
            f"{rpps};{last};{first};{rng.choice(PROFESSIONS)};p{index}@example.org;"
            f"{rng.randint(10000, 95999)};Ville {index % 997};FR\n"
        )
    return out.getvalue().encode("utf-8")


def baseline(content: bytes) -> float:
    """Parse with csv and insert with sqlite3, nothing else: the floor for this work."""
    started = time.perf_counter()
    reader = csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""), delimiter=";")
    next(reader)
    rows = list(reader)
    db = sqlite3.connect(":memory:")
    db.execute(
        "CREATE TABLE p (rpps TEXT UNIQUE, last_name TEXT, first_name TEXT, profession TEXT, "
        "email TEXT, postal_code TEXT, city TEXT, country TEXT)"
    )
    with db:
        db.executemany("INSERT INTO p VALUES (?,?,?,?,?,?,?,?)", rows)
    db.close()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", help="PostgreSQL URL; default: a temporary SQLite file")
    args = parser.parse_args()

    setup(args.database_url)
    from django.db import connection

    from audit.models import AuditEvent
    from audit.selectors import audit_chain_verify
    from issuance.services.imports import professionals_import

    content = generate_csv(args.rows)
    base = baseline(content)

    started = time.perf_counter()
    first = professionals_import(content=content, by=None, file_name="bench.csv")
    first_time = time.perf_counter() - started
    assert first.written, first.summary()
    assert first.created == args.rows, first.summary()

    started = time.perf_counter()
    again = professionals_import(content=content, by=None, file_name="bench.csv")
    again_time = time.perf_counter() - started
    assert again.unchanged == args.rows, again.summary()

    events = AuditEvent.objects.count()
    started = time.perf_counter()
    report = audit_chain_verify()
    verify_time = time.perf_counter() - started
    assert report.intact, report.reason
    print(f"database: {connection.vendor}; rows: {args.rows:,}; file: {len(content) / 1e6:.1f} MB")
    print(f"{'':34}{'seconds':>10}{'rows/s':>12}{'ratio':>8}")
    print(f"{'baseline csv + sqlite3 insert':34}{base:10.2f}{args.rows / base:12,.0f}{1:8.1f}")
    for label, seconds in (
        ("import (all new)", first_time),
        ("re-import (all unchanged)", again_time),
    ):
        print(f"{label:34}{seconds:10.2f}{args.rows / seconds:12,.0f}{seconds / base:8.1f}")
    print(f"audit events written: {events:,} (one per professional + one summary)")
    print(
        f"audit chain verified intact in {verify_time:.2f} s ({events / verify_time:,.0f} events/s)"
    )


if __name__ == "__main__":
    main()
