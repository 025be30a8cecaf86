"""`reminder ledger copy --to URL`: move a ledger (SQLite) into an empty PostgreSQL database.

Generic over the schema: every table of the ledger's metadata (SQLModel.metadata, the same
one alembic checks against the migrations) is copied, so a table added by a later migration
is copied without a change here. Both databases are first brought to the current schema
(open_ledger migrates), the target must be empty, rows go in batches in foreign-key order,
PostgreSQL's sequences are moved past the copied ids, and the row counts of both sides are
compared at the end. Nothing is deleted from the source.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel

from reminder.ledger import Ledger, LedgerError, open_ledger

__all__ = ["CopyError", "CopyResult", "copy_ledger"]

BATCH = 1000  # rows per INSERT batch


class CopyError(LedgerError):
    """The copy cannot be done or did not come out right; the message says why."""


@dataclass(frozen=True, slots=True)
class CopyResult:
    """What was copied: table → rows, in the order they were copied."""

    source: str  # URLs without password
    target: str
    rows: dict[str, int]


def tables() -> list[sa.Table]:
    """Every ledger table, parents before children (import registers them on the metadata)."""
    import reminder.completions  # noqa: F401  (its tables, should ledger stop importing it)

    return list(SQLModel.metadata.sorted_tables)


def copy_ledger(
    source_url: str,
    target_url: str,
    *,
    source_password: str | None = None,
    target_password: str | None = None,
) -> CopyResult:
    """Copy every table from `source_url` into the empty ledger at `target_url`."""
    lease = timedelta(minutes=5)  # not used: nothing is claimed here
    source = open_ledger(source_url, lease=lease, password=source_password)
    try:
        target = open_ledger(target_url, lease=lease, password=target_password)
        try:
            return _copy(source, target)
        finally:
            target.close()
    finally:
        source.close()


def _copy(source: Ledger, target: Ledger) -> CopyResult:
    if source.url == target.url:
        raise CopyError(f"the source and the target are the same database ({source.url})")
    known = tables()
    _check_no_unknown_tables(source, known)
    with target.engine.connect() as conn:
        busy = {t.name: n for t in known if (n := _count(conn, t))}
    if busy:
        listed = ", ".join(f"{name} ({n} rows)" for name, n in busy.items())
        raise CopyError(f"the target {target.url} is not empty: {listed}; copy into a new database")
    copied: dict[str, int] = {}
    with source.engine.connect() as src, target.engine.begin() as dst:
        for table in known:
            copied[table.name] = sum(len(batch) for batch in _copy_table(src, dst, table))
            if target.dialect == "postgresql":
                _advance_sequences(dst, table)
    _check_counts(source, target, known, copied)
    return CopyResult(source.url, target.url, copied)


def _check_no_unknown_tables(source: Ledger, known: list[sa.Table]) -> None:
    names = set(sa.inspect(source.engine).get_table_names()) - {"alembic_version"}
    unknown = sorted(names - {t.name for t in known})
    if unknown:
        raise CopyError(
            f"the source {source.url} has tables this version of reminder does not know: "
            f"{', '.join(unknown)}; copy with the version that made them"
        )


def _copy_table(
    src: sa.Connection, dst: sa.Connection, table: sa.Table
) -> Iterator[list[dict[str, Any]]]:
    """Read through the model's column types (aware datetimes, booleans) and insert in batches."""
    order = list(table.primary_key.columns) or list(table.columns)
    result = src.execution_options(yield_per=BATCH).execute(sa.select(table).order_by(*order))
    for part in result.mappings().partitions(BATCH):
        rows = [dict(row) for row in part]
        dst.execute(sa.insert(table), rows)
        yield rows


def _advance_sequences(dst: sa.Connection, table: sa.Table) -> None:
    """After explicit ids were inserted, move each serial/identity sequence past them."""
    for column in table.primary_key.columns:
        if not isinstance(column.type, sa.Integer) or column.autoincrement is False:
            continue
        seq = dst.execute(
            sa.text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column.name}
        ).scalar()
        if seq:
            dst.execute(
                sa.text(
                    f"SELECT setval(:s, COALESCE((SELECT max({column.name}) FROM {table.name}), 0) + 1, false)"
                ),
                {"s": seq},
            )


def _count(conn: sa.Connection, table: sa.Table) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _check_counts(
    source: Ledger, target: Ledger, known: list[sa.Table], copied: dict[str, int]
) -> None:
    with source.engine.connect() as src, target.engine.connect() as dst:
        for table in known:
            before, after = _count(src, table), _count(dst, table)
            if not before == after == copied[table.name]:
                raise CopyError(
                    f"table {table.name}: {before} rows in the source, {copied[table.name]} "
                    f"copied, {after} in the target; was a daemon still writing? stop it and "
                    "copy into a new database"
                )
