"""The delivery ledger: what was claimed, sent, failed, given up or missed, and what is done.

The ledger is the truth; the scheduler is only a timer. The planner recomputes every reminder
from the config at each wake-up and asks the ledger which of them may be sent now. One row
per reminder key (task|occurrence|milestone|lead|agency|channel|address) is both the
idempotency record and the delivery log.

State machine of a delivery row (see docs/ledger.md)::

    (no row) --claim--> SENDING --mark_sent--> SENT
                          |  ^ \\--mark_gave_up--> GAVE_UP
                mark_failed|  |claim (next_attempt_at <= now)
                          v  |
                         FAILED --mark_gave_up--> GAVE_UP
    SENDING older than the lease --claim--> SENDING (a recovery, logged as a WARNING)
    (no row) --record_missed--> MISSED

Guarantees: a key is claimed by exactly one caller, whatever the number of processes
(INSERT … ON CONFLICT DO NOTHING, or a conditional UPDATE, decided by the database); a row
left in SENDING by a crashed process is claimed again once its lease has expired, so a crash
costs at worst one duplicate, never a lost reminder.

This is the only module that touches SQLModel/SQLAlchemy. The engine is synchronous: call it
through `asyncio.to_thread`. Every datetime going in must be timezone-aware; every datetime
coming out is aware, in UTC. Alembic is imported only by `Ledger.migrate`, and only when the schema is not at
this code's head revision (`schema_head`).
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import re
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Field, SQLModel

from reminder.completions import Completions
from reminder.ledgerread import Delivery, Status
from reminder.logs import register_secret
from reminder.model import VN_TZ, Reminder
from reminder.owner import gone as owner_gone
from reminder.replies import Replies

__all__ = [
    "Delivery",
    "Ledger",
    "LedgerError",
    "LedgerUnreachable",
    "LedgerUnwritable",
    "SentMark",
    "Status",
    "open_ledger",
    "unavailable",
]

log = logging.getLogger("reminder.ledger")

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
ERROR_MAX_CHARS = 500  # last_error is truncated to this many characters
NOTE_MAX_CHARS = 2000
SENT_AFTER_ERROR = "sent at attempt "  # last_error of a row sent after a failed attempt
CHUNK = 500  # keys per IN (…) clause / per conditional UPDATE
BUSY_TIMEOUT_MS = 15_000
PG_CONNECT_TIMEOUT = 10  # seconds before a PostgreSQL connection attempt gives up
_PG_LOCK = 0x52454D44  # pg_advisory_xact_lock key for migrate() ("REMD")
_WRITE = "reminder_ledger_write"  # execution option: open the SQLite transaction IMMEDIATE


_REVISION_LINE = re.compile(r"^(down_revision|revision)\b[^=\n]*=\s*(.+?)\s*$", re.MULTILINE)


_QUOTED = re.compile(r"\"[\w-]+\"|'[\w-]+'")


@functools.cache
def schema_head() -> str | None:
    """The head revision of reminder/migrations, read from each file's `revision` and
    `down_revision` lines without importing alembic; None unless the files make one chain
    of plain string revisions (then alembic decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in MIGRATIONS_DIR.glob("versions/*.py"):
        text = path.read_text("utf-8")
        found = {m[1]: m[2] for m in _REVISION_LINE.finditer(text)}
        revision, parent = found.get("revision", ""), found.get("down_revision", "")
        if not _QUOTED.fullmatch(revision) or not (parent == "None" or _QUOTED.fullmatch(parent)):
            return None
        revisions.add(revision[1:-1])
        if parent != "None":
            parents.add(parent[1:-1])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and parents <= revisions else None


def _at_head(conn: Connection) -> bool:
    """Whether the database's alembic_version is exactly this code's head revision."""
    head = schema_head()
    if head is None or not sa.inspect(conn).has_table("alembic_version"):
        return False
    versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()
    return list(versions) == [head]


class LedgerError(Exception):
    """A ledger problem a user can act on (unsupported URL, database in an unknown state)."""


class LedgerUnreachable(LedgerError):
    """The database server cannot be reached now (down, starting, refused the connection or
    the login): worth trying again. The message names the server, never the password."""


class LedgerUnwritable(LedgerError):
    """The database refused a write (disk or database full, locked past the busy timeout,
    server gone). Nothing of that transaction was written; the same call may succeed later.
    `reason` is the database's own words, without the URL's password."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.reason = reason


# ---------------------------------------------------------------------------------------
# Tables. Columns added later need a server_default (see docs/ledger.md, "NOT NULL trap").


class DeliveryRow(SQLModel, table=True):
    """One reminder key: its claim, its attempts and its outcome."""

    __tablename__ = "delivery"

    key: str = Field(primary_key=True)
    task_id: str = Field(index=True)
    occurrence: str
    milestone_id: str
    deadline: date
    lead_days: int
    agency: str
    channel: str
    address: str
    status: str = Field(index=True)
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    late: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    owner: str = Field(default="", sa_column_kwargs={"server_default": ""})
    last_error: str | None = None
    note: str = Field(default="", sa_column_kwargs={"server_default": ""})
    planned_at: datetime  # the reminder's send_at
    created_at: datetime
    claimed_at: datetime | None = None
    sent_at: datetime | None = None
    next_attempt_at: datetime | None = None
    updated_at: datetime = Field(index=True)


class ChatMoveRow(SQLModel, table=True):
    """A chat that moved (a Telegram group upgraded to a supergroup): sends to `address`, as
    config.toml names it, go to `new_address` until config.toml names the new one."""

    __tablename__ = "chat_move"

    channel: str = Field(primary_key=True)
    address: str = Field(primary_key=True)
    new_address: str
    agency: str = Field(default="", sa_column_kwargs={"server_default": ""})
    moved_at: datetime


_D: sa.Table = DeliveryRow.__table__  # type: ignore[attr-defined]
_M: sa.Table = ChatMoveRow.__table__  # type: ignore[attr-defined]


# Built once: mark_sent runs for every message sent, and constructing the statement cost
# as much as executing it. An empty note keeps the row's note; a `late` of None keeps the
# flag; an error left by an earlier attempt stays, saying that a later attempt went through.
# Run once per key, all keys of a sent-mark group in one executemany.
_MARK_SENT = (
    sa.update(_D)
    .where(_D.c.key == sa.bindparam("k"), _D.c.status != str(Status.SENT))
    .values(
        status=str(Status.SENT),
        sent_at=sa.bindparam("now", type_=_D.c.sent_at.type),
        next_attempt_at=None,
        updated_at=sa.bindparam("now", type_=_D.c.updated_at.type),
        note=sa.case(
            (sa.bindparam("note", type_=_D.c.note.type) == "", _D.c.note),
            else_=sa.bindparam("note", type_=_D.c.note.type),
        ),
        late=sa.func.coalesce(sa.bindparam("late", type_=sa.Boolean()), _D.c.late),
        last_error=sa.case(
            (_D.c.last_error.is_(None), None),
            (_D.c.last_error.like(f"{SENT_AFTER_ERROR}%"), _D.c.last_error),
            else_=sa.func.substr(
                sa.literal(SENT_AFTER_ERROR)
                + sa.cast(_D.c.attempts, sa.String())
                + "; earlier: "
                + _D.c.last_error,
                1,
                ERROR_MAX_CHARS,
            ),
        ),
    )
)


@dataclass(frozen=True, slots=True)
class SentMark:
    """Keys one message carried, accepted by its channel at `now`. `late` is whether the
    message carried the late notice (None: keep the flag set at the claim)."""

    keys: tuple[str, ...]
    now: datetime
    note: str = ""
    late: bool | None = None


_DELIVERY_FIELDS = tuple(Delivery.__dataclass_fields__)

# ---------------------------------------------------------------------------------------
# Small helpers.


def _utc(value: datetime, name: str = "now") -> datetime:
    """`value` in UTC; a naive datetime is a programming error."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value!r}")
    return value.astimezone(UTC)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _chunks(items: Sequence[str], size: int = CHUNK) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _unique(reminders: Iterable[Reminder]) -> list[Reminder]:
    """The reminders with the first of each key, in input order."""
    seen: set[str] = set()
    out: list[Reminder] = []
    for r in reminders:
        if r.key not in seen:
            seen.add(r.key)
            out.append(r)
    return out


def _target(url: str, password: str | None) -> sa.URL:
    """The URL to connect to: a supported backend, psycopg 3 for PostgreSQL, the password."""
    try:
        target = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise LedgerError(
            "the database URL is not a URL (sqlite:///FILE or postgresql+psycopg://…)"
        ) from None
    backend = target.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise LedgerError(f"unsupported database {backend!r}: use sqlite or postgresql")
    if backend == "postgresql":
        if target.drivername == "postgresql":
            target = target.set(drivername="postgresql+psycopg")
        if target.drivername != "postgresql+psycopg":
            raise LedgerError(f"unsupported driver {target.drivername!r}: use postgresql+psycopg")
        if importlib.util.find_spec("psycopg") is None:
            raise LedgerError(
                "PostgreSQL needs psycopg 3: install reminder[postgres] (pip install 'psycopg[binary]')"
            )
        if password is not None:
            target = target.set(password=password)
        if target.password:
            register_secret(str(target.password))
    return target


def unavailable(exc: BaseException) -> str | None:
    """The one-line reason when `exc` says the ledger cannot be used for now (server down or
    restarting, connection refused or lost, login refused, writes refused), else None: the
    same call may succeed later. Never includes the password: libpq's messages name the
    host, port and user only."""
    if isinstance(exc, LedgerUnwritable):
        return exc.reason
    lost = isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated
    if not (lost or isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError)):
        return None
    orig = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(orig).splitlines() if line.strip()]
    return "; ".join(lines[:2]) or type(orig).__name__


def _pg_insert_columns() -> list[str]:
    return [c.name for c in _D.columns]


@functools.cache
def _pg_insert_new() -> sa.TextClause:
    """INSERT … SELECT FROM unnest(one array per column) … ON CONFLICT DO NOTHING RETURNING.

    One statement with 21 parameters whatever the number of rows: a multi-row VALUES list
    has 21 per row, and psycopg parses such a statement in Python (5,000 rows: 5 s → 0.1 s).
    Rows go in array order, which the caller sorts by key (no deadlock between claimers).
    """
    from sqlalchemy.dialects import postgresql

    dialect = postgresql.dialect()
    names = _pg_insert_columns()
    arrays = ", ".join(
        f"CAST(:{c.name} AS {c.type.compile(dialect=dialect)}[])" for c in _D.columns
    )
    return sa.text(
        f"INSERT INTO {_D.name} ({', '.join(names)}) SELECT * FROM unnest({arrays}) "
        "ON CONFLICT (key) DO NOTHING RETURNING key"
    )


@functools.lru_cache(maxsize=8)
def _sqlite_insert_new(n_rows: int) -> str:
    """INSERT of `n_rows` rows (every column, in table order) … ON CONFLICT DO NOTHING
    RETURNING key, with qmark parameters."""
    names = _pg_insert_columns()
    quoted = ", ".join(f'"{c}"' for c in names)
    one = "(" + ", ".join("?" * len(names)) + ")"
    return (
        f"INSERT INTO {_D.name} ({quoted}) "
        f"VALUES {', '.join([one] * n_rows)} "
        'ON CONFLICT ("key") DO NOTHING RETURNING "key"'
    )


def _sqlite_executemany(conn: Connection, stmt: sa.Update, rows: list[dict[str, Any]]) -> int:
    """conn.execute(stmt, rows) for SQLite, the statement compiled once per dialect and the
    parameters converted once per distinct value; returns the rows changed. SQLAlchemy
    processes every parameter of every row in Python, which cost more than the UPDATEs."""
    sql, names, fixed, processors = _compiled(stmt, conn.dialect)
    return int(conn.exec_driver_sql(sql, _bound(rows, names, processors, fixed)).rowcount)


def _bound(
    rows: Iterable[Mapping[str, Any]],
    names: Sequence[str],
    processors: Mapping[str, Callable[[Any], Any]],
    fixed: Mapping[str, Any],
) -> list[tuple[Any, ...]]:
    """Each row's values in the order of `names`, converted for the driver once per distinct
    value (a batch holds the same few instants and dates in every row); a name a row lacks
    takes its `fixed` value."""
    seen: dict[tuple[str, Any], Any] = {}
    table = []
    for row in rows:
        values = []
        for name in names:
            if name not in row:
                values.append(fixed[name])
                continue
            v = row[name]
            process = processors.get(name)
            if process is not None:
                v = seen[name, v] if (name, v) in seen else seen.setdefault((name, v), process(v))
            values.append(v)
        table.append(tuple(values))
    return table


@functools.lru_cache(maxsize=8)
def _compiled(
    stmt: sa.Update, dialect: sa.Dialect
) -> tuple[str, list[str], dict[str, Any], dict[str, Callable[[Any], Any]]]:
    """(SQL with positional parameters, their names in order, the statement's own values
    converted, the converters of the others) of `stmt` on `dialect`."""
    compiled = stmt.compile(dialect=dialect)
    names = list(compiled.positiontup or ())
    processors: dict[str, Callable[[Any], Any]] = {
        name: process
        for name, bind in compiled.binds.items()
        if (process := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
    }
    fixed = {
        name: processors[name](bind.effective_value) if name in processors else bind.effective_value
        for name, bind in compiled.binds.items()
        if not bind.required
    }
    return compiled.string, names, fixed, processors


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    # Autocommit at the driver level: SQLAlchemy's "begin" event below emits BEGIN itself,
    # so a transaction starts when we say so (the pysqlite recipe in the SQLAlchemy docs).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        f"busy_timeout={BUSY_TIMEOUT_MS}",
        "foreign_keys=ON",
    ):
        cur.execute(f"PRAGMA {pragma}")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    # Writers take the write lock up front (BEGIN IMMEDIATE) and wait for it up to
    # busy_timeout; a deferred transaction that reads first and writes later could fail with
    # "database is locked" without waiting. Readers use a plain (deferred) BEGIN.
    immediate = conn.get_execution_options().get(_WRITE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


# ---------------------------------------------------------------------------------------


class Ledger:
    """The delivery ledger over one database URL (sqlite:///path or postgresql://…)."""

    def __init__(
        self,
        url: str,
        *,
        lease: timedelta = timedelta(minutes=5),
        password: str | None = None,
    ) -> None:
        """Create the engine. Does not touch the schema: call `migrate()` for that.

        `password` (PostgreSQL) replaces any password in `url`; `self.url` never shows it.
        """
        if lease <= timedelta(0):
            raise ValueError(f"lease must be positive, got {lease}")
        target = _target(url, password)
        self.url = target.render_as_string(hide_password=True)
        self.lease = lease
        self.dialect = target.get_backend_name()
        self._insert: Callable[[sa.Table], Any]
        if self.dialect == "sqlite":
            from sqlalchemy.dialects import sqlite

            engine = sa.create_engine(target, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
            event.listen(engine, "connect", _sqlite_connect)
            event.listen(engine, "begin", _sqlite_begin)
            self._insert = sqlite.insert
        else:
            from sqlalchemy.dialects import postgresql

            # pre_ping: after a server restart, pooled connections are dead; test each one
            # before use, so the first query after an outage does not fail for nothing.
            engine = sa.create_engine(
                target,
                pool_pre_ping=True,
                connect_args={
                    "connect_timeout": PG_CONNECT_TIMEOUT,
                    "application_name": "reminder",
                },
            )
            self._insert = postgresql.insert
        self.engine: Engine = engine
        self._writer = engine.execution_options(**{_WRITE: True})
        self.completions = Completions(engine, self._writer)
        self.replies = Replies(engine, self._writer, self._insert)
        self.where = sa.engine.make_url(url).render_as_string(hide_password=True)
        self._refusing: str | None = None  # the reason, while the database refuses writes
        self._refusing_lock = threading.Lock()

    # -- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def ping(self) -> None:
        """Raise unless the database answers a trivial query (for /healthz)."""
        with self._read() as conn:
            conn.execute(sa.text("SELECT 1"))

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A connection in a write transaction (BEGIN IMMEDIATE on SQLite), committed on exit.

        A database that refuses the write (full, locked past the busy timeout, gone) raises
        LedgerUnwritable. The first refusal is logged at ERROR with the reason, and the next
        successful write says that writes are accepted again: each change is said once.
        """
        try:
            with self._writer.begin() as conn:
                yield conn
        except sa.exc.OperationalError as exc:
            raise self._refused(exc) from None
        if self._refusing is not None:
            self._accepted()

    def _refused(self, exc: sa.exc.OperationalError) -> LedgerUnwritable:
        reason = str(exc.orig if exc.orig is not None else exc).strip().splitlines()[0]
        with self._refusing_lock:
            first, self._refusing = self._refusing is None, reason
        if first:
            log.error(
                "the ledger %s refuses writes (%s): no message is sent until it accepts them "
                "again; trying again every few seconds",
                self.where,
                reason,
            )
        return LedgerUnwritable(self.where, reason)

    def _accepted(self) -> None:
        with self._refusing_lock:
            reason, self._refusing = self._refusing, None
        if reason is not None:
            log.warning("the ledger %s accepts writes again (it refused: %s)", self.where, reason)

    @property
    def refusing(self) -> str | None:
        """Why the database refused the last write, while it does; else None."""
        return self._refusing

    def _read(self) -> Any:
        return self.engine.connect()

    def alembic_config(self, connection: Connection | None = None) -> Any:
        """An alembic Config built in code (no alembic.ini): our migrations, this database."""
        import sys

        from alembic.config import Config

        # stdout given at each call: alembic's default is the sys.stdout of the moment
        # alembic.config was first imported, which may be a stream closed since.
        cfg = Config(stdout=sys.stdout)
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        if connection is not None:
            cfg.attributes["connection"] = connection
        return cfg

    def migrate(self) -> None:
        """Bring the schema to the latest revision (alembic upgrade head). Idempotent.

        A database whose tables were created without alembic (no alembic_version table) is
        adopted: it is stamped at the baseline revision, then upgraded. The whole upgrade
        runs in one transaction that holds the write lock (BEGIN IMMEDIATE on SQLite, an
        advisory lock on PostgreSQL), so two processes starting together migrate one after
        the other, and a failed migration leaves the schema as it was.
        """
        with self._write() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
            if _at_head(conn):
                return  # the usual start: alembic (~6 MB resident for good) not imported
            from alembic import command

            cfg = self.alembic_config(conn)
            names = set(sa.inspect(conn).get_table_names())
            if "alembic_version" not in names and names & {
                _D.name,
                "completion",
                "completion_event",
            }:
                self._adopt(cfg, names)
            command.upgrade(cfg, "head")

    def _adopt(self, cfg: Any, names: set[str]) -> None:
        """Stamp a database whose tables were made without alembic (SQLModel create_all):
        at the baseline if it has the baseline's tables, at head if it has today's."""
        from alembic import command
        from alembic.script import ScriptDirectory

        for tables, revision in (
            ({_D.name, "completion_event"}, "head"),
            ({_D.name, "completion"}, ScriptDirectory.from_config(cfg).get_base()),
        ):
            if tables <= names and revision is not None:
                log.warning("adopting a ledger without alembic_version: stamping %s", revision)
                command.stamp(cfg, revision)
                return
        raise LedgerError(
            f"{self.url}: found {sorted(names)} and no alembic_version; "
            "this database is in an unknown state, restore it or start afresh"
        )

    # -- claiming -------------------------------------------------------------------------

    def claim(
        self,
        reminders: Sequence[Reminder],
        now: datetime,
        *,
        late: bool = False,
        owner: str = "",
    ) -> list[Reminder]:
        """Atomically claim the reminders that may be sent now; return them in input order.

        - no row yet: a SENDING row is inserted (attempts=1); won only if the insert happened;
        - FAILED with next_attempt_at <= now: SENDING again, attempts + 1;
        - SENDING claimed before now - lease (its process died): SENDING again, attempts + 1,
          logged as a WARNING (the message may go out twice: better than not at all);
        - SENDING within the lease, but its owner is a process of this host that is gone
          (reminder/owner.py): the same, at once;
        - anything else (SENT, GAVE_UP, MISSED, FAILED not yet due, SENDING within the
          lease of a live or unknown owner): not claimed.
        A re-claimed row's `late` becomes this claim's. One transaction for the whole batch.
        A key repeated in `reminders` is claimed once. `owner` is `str(reminder.owner.current())`.
        """
        now = _utc(now)
        todo = _unique(reminders)
        if not todo:
            return []
        owner = _clip(owner, 200)
        won: set[str] = set()
        with self._write() as conn:
            # In key order, as every other claimer: on PostgreSQL two batches that lock the
            # same keys in different orders would deadlock.
            ordered = sorted(todo, key=lambda r: r.key)
            rows = [self._new_row(r, now, Status.SENDING, late, owner) for r in ordered]
            won.update(self._insert_new(conn, rows))
            rest = [r.key for r in ordered if r.key not in won]
            if rest:
                won.update(self._reclaim(conn, rest, now, owner, late))
        return [r for r in todo if r.key in won]

    def _insert_new(self, conn: Connection, rows: list[dict[str, Any]]) -> list[str]:
        """INSERT the delivery rows whose key has none yet; return the keys inserted."""
        if self.dialect == "postgresql":
            columns = {c: [row[c] for row in rows] for c in _pg_insert_columns()}
            return list(conn.execute(_pg_insert_new(), columns).scalars())
        # Multi-row INSERT … RETURNING as SQLAlchemy's executemany would send it, but the
        # values converted here once per distinct value: SQLAlchemy processed each of the 21
        # parameters of each row in Python (~2/3 of a claim of 800 rows).
        names = _pg_insert_columns()
        processors = {
            c: process
            for c in names
            if (process := _D.c[c].type.dialect_impl(conn.dialect).bind_processor(conn.dialect))
        }
        table = _bound(rows, names, processors, {})
        per = max(1, conn.dialect.insertmanyvalues_max_parameters // len(names))
        won: list[str] = []
        for start in range(0, len(table), per):
            part = table[start : start + per]
            flat = [v for values in part for v in values]
            won += conn.exec_driver_sql(_sqlite_insert_new(len(part)), tuple(flat)).scalars()
        return won

    def _new_row(
        self, r: Reminder, now: datetime, status: Status, late: bool, owner: str
    ) -> dict[str, Any]:
        sending = status is Status.SENDING
        return {
            "key": r.key,
            "task_id": r.task_id,
            "occurrence": r.occurrence,
            "milestone_id": r.milestone_id,
            "deadline": r.deadline,
            "lead_days": r.lead_days,
            "agency": r.agency,
            "channel": r.channel,
            "address": r.address,
            "status": str(status),
            "attempts": 1 if sending else 0,
            "late": late,
            "owner": owner,
            "last_error": None,
            "note": "",
            "planned_at": _utc(r.send_at, "send_at"),
            "created_at": now,
            "claimed_at": now if sending else None,
            "sent_at": None,
            "next_attempt_at": None,
            "updated_at": now,
        }

    def _reclaim(
        self, conn: Connection, keys: Sequence[str], now: datetime, owner: str, late: bool
    ) -> set[str]:
        """Conditional UPDATEs for existing rows due for a retry, past their lease, or held
        by a process that is gone (same host: see reminder/owner.py)."""
        stale_before = now - self.lease
        retry: list[str] = []
        stale: dict[str, tuple[str, datetime, int]] = {}
        orphans: dict[str, dict[str, tuple[datetime, int]]] = defaultdict(dict)  # by owner
        for chunk in _chunks(keys):
            q = sa.select(
                _D.c.key,
                _D.c.status,
                _D.c.next_attempt_at,
                _D.c.claimed_at,
                _D.c.owner,
                _D.c.attempts,
            ).where(_D.c.key.in_(chunk))
            for key, status, next_at, claimed_at, old_owner, attempts in conn.execute(q):
                if status == Status.FAILED and next_at is not None and next_at <= now:
                    retry.append(key)
                elif status != Status.SENDING or claimed_at is None:
                    continue
                elif claimed_at < stale_before:
                    stale[key] = (old_owner, claimed_at, attempts)
                elif old_owner != owner:
                    orphans[old_owner][key] = (claimed_at, attempts)
        values = {
            "status": str(Status.SENDING),
            "attempts": _D.c.attempts + 1,
            "claimed_at": now,
            "owner": owner,
            "next_attempt_at": None,
            "updated_at": now,
            "late": late,
        }
        due = (_D.c.status == str(Status.FAILED), _D.c.next_attempt_at <= now)
        won = self._update_claims(conn, retry, due, values)
        expired = (_D.c.status == str(Status.SENDING), _D.c.claimed_at < stale_before)
        for key in self._update_claims(conn, list(stale), expired, values):
            won.add(key)
            old_owner, claimed_at, attempts = stale[key]
            self._log_recovery(key, old_owner, claimed_at, attempts, f"lease {self.lease}")
        for old_owner, held in orphans.items():
            if not owner_gone(old_owner):
                continue
            theirs = (_D.c.status == str(Status.SENDING), _D.c.owner == old_owner)
            for key in self._update_claims(conn, list(held), theirs, values):
                won.add(key)
                claimed_at, attempts = held[key]
                self._log_recovery(key, old_owner, claimed_at, attempts, "its process is gone")
        return won

    @staticmethod
    def _update_claims(
        conn: Connection, keys: Sequence[str], where: tuple[Any, ...], values: dict[str, Any]
    ) -> set[str]:
        won: set[str] = set()
        for chunk in _chunks(keys):
            stmt = (
                sa.update(_D)
                .where(_D.c.key.in_(chunk), *where)
                .values(**values)
                .returning(_D.c.key)
            )
            won.update(conn.execute(stmt).scalars())
        return won

    def _log_recovery(
        self, key: str, old_owner: str, claimed_at: datetime, attempts: int, why: str
    ) -> None:
        log.warning(
            "recovering %s: left SENDING by %s since %s (%s); sending again, "
            "attempt %d (it may have gone out already)",
            key,
            old_owner or "an unnamed process",
            claimed_at,
            why,
            attempts + 1,
        )

    def renew(self, owner: str, now: datetime) -> int:
        """Extend the lease of every row `owner` holds in SENDING (claimed_at = now), so that a
        batch longer than the lease is not taken over while it is still being sent."""
        stmt = (
            sa.update(_D)
            .where(_D.c.status == str(Status.SENDING), _D.c.owner == owner)
            .values(claimed_at=_utc(now))
        )
        with self._write() as conn:
            return int(conn.execute(stmt).rowcount)

    def _orphaned_owners(self, conn: Connection) -> list[str]:
        """Owners of SENDING rows whose process is gone (decidable on their host only)."""
        q = sa.select(_D.c.owner).where(_D.c.status == str(Status.SENDING)).distinct()
        return [o for o in conn.execute(q).scalars() if owner_gone(o)]

    # -- outcomes -------------------------------------------------------------------------

    def mark_sent(
        self, keys: Sequence[str], now: datetime, note: str = "", *, late: bool | None = None
    ) -> None:
        """Record that these keys were delivered. A key already SENT keeps its first sent_at.

        A late success wins over a FAILED/GAVE_UP written meanwhile by another process: the
        message did go out. Unknown keys are logged and ignored. `late` (when given) records
        whether the message carried the late notice; an error of an earlier attempt stays in
        last_error, prefixed "sent at attempt N; earlier: ".
        """
        self.record_sent([SentMark(tuple(keys), now, note, late)])

    def record_sent(self, marks: Sequence[SentMark]) -> None:
        """mark_sent for several messages in ONE transaction (the sent-mark recorder's group)."""
        pairs = [(key, m) for m in marks for key in dict.fromkeys(m.keys)]
        if not pairs:
            return
        rows = [
            {"k": key, "now": _utc(m.now), "note": _clip(m.note, NOTE_MAX_CHARS), "late": m.late}
            for key, m in pairs
        ]
        with self._write() as conn:
            if self.dialect == "sqlite":
                changed = _sqlite_executemany(conn, _MARK_SENT, rows)
            else:
                changed = conn.execute(_MARK_SENT, rows).rowcount
            if changed != len(rows):  # a key already SENT, or unknown
                keys = list(dict.fromkeys(key for key, _m in pairs))
                known = self._statuses(conn, keys)
                for key in keys:
                    if key not in known:
                        log.warning("mark_sent: no ledger row for %s (ignored)", key)

    def mark_failed(self, key: str, now: datetime, error: str, next_attempt_at: datetime) -> None:
        """Record a failed attempt; the key may be claimed again from `next_attempt_at` on.

        Only a SENDING (or FAILED) row changes: a row already SENT or GAVE_UP stays as it is.
        """
        now = _utc(now)
        values = {
            "status": str(Status.FAILED),
            "last_error": _clip(error, ERROR_MAX_CHARS),
            "next_attempt_at": _utc(next_attempt_at, "next_attempt_at"),
            "updated_at": now,
        }
        self._transition(key, values, (Status.SENDING, Status.FAILED), "mark_failed")

    def mark_gave_up(self, key: str, now: datetime, error: str) -> None:
        """Record that the key will not be retried (a permanent error, or retries exhausted)."""
        now = _utc(now)
        values = {
            "status": str(Status.GAVE_UP),
            "last_error": _clip(error, ERROR_MAX_CHARS),
            "next_attempt_at": None,
            "updated_at": now,
        }
        self._transition(key, values, (Status.SENDING, Status.FAILED), "mark_gave_up")

    def _transition(
        self, key: str, values: dict[str, Any], sources: tuple[Status, ...], what: str
    ) -> None:
        with self._write() as conn:
            stmt = (
                sa.update(_D)
                .where(_D.c.key == key, _D.c.status.in_([str(s) for s in sources]))
                .values(**values)
            )
            if conn.execute(stmt).rowcount == 1:
                return
            status = self._statuses(conn, [key]).get(key)
        if status is None:
            log.warning("%s: no ledger row for %s (ignored)", what, key)
        else:
            log.warning("%s: %s is %s, left unchanged", what, key, status)

    def record_missed(self, reminders: Sequence[Reminder], now: datetime) -> list[Reminder]:
        """Insert MISSED rows for keys that have no row; return those newly recorded."""
        now = _utc(now)
        todo = _unique(reminders)
        if not todo:
            return []
        won: set[str] = set()
        with self._write() as conn:
            rows = [self._new_row(r, now, Status.MISSED, False, "") for r in todo]
            won.update(self._insert_new(conn, rows))
        return [r for r in todo if r.key in won]

    # -- queries --------------------------------------------------------------------------

    def known_keys(self, keys: Iterable[str]) -> dict[str, Status]:
        """The status of each of `keys` that has a row."""
        keys = list(dict.fromkeys(keys))
        if not keys:
            return {}
        with self._read() as conn:
            return self._statuses(conn, keys)

    @staticmethod
    def _statuses(conn: Connection, keys: Sequence[str]) -> dict[str, Status]:
        out: dict[str, Status] = {}
        for chunk in _chunks(keys):
            q = sa.select(_D.c.key, _D.c.status).where(_D.c.key.in_(chunk))
            out.update((k, Status(s)) for k, s in conn.execute(q))
        return out

    def due_retries(self, now: datetime) -> list[str]:
        """Keys FAILED with next_attempt_at <= now, then keys SENDING past the lease or held
        by a process of this host that is gone."""
        now = _utc(now)
        with self._read() as conn:
            failed = conn.execute(
                sa.select(_D.c.key)
                .where(_D.c.status == str(Status.FAILED), _D.c.next_attempt_at <= now)
                .order_by(_D.c.next_attempt_at, _D.c.key)
            ).scalars()
            out = list(failed)
            stale = sa.or_(
                _D.c.claimed_at < now - self.lease, _D.c.owner.in_(self._orphaned_owners(conn))
            )
            orphaned = conn.execute(
                sa.select(_D.c.key)
                .where(_D.c.status == str(Status.SENDING), stale)
                .order_by(_D.c.claimed_at, _D.c.key)
            ).scalars()
            out.extend(orphaned)
        return out

    def first_activity(self) -> datetime | None:
        """When the ledger recorded its first delivery row (None while it is empty).

        Reminders due before the ledger existed were never this installation's to send, so
        the dispatcher does not record them as missed.
        """
        with self._read() as conn:
            first = conn.execute(sa.select(sa.func.min(_D.c.created_at))).scalar()
        return _as_utc(first)

    def next_retry_at(self) -> datetime | None:
        """When the daemon should wake for retries: the earliest next_attempt_at of FAILED
        rows, or claimed_at + lease of SENDING rows (claimed_at itself, i.e. at once, when
        their owner is a process of this host that is gone). None if there is nothing to
        retry."""
        with self._read() as conn:
            failed = conn.execute(
                sa.select(sa.func.min(_D.c.next_attempt_at)).where(
                    _D.c.status == str(Status.FAILED)
                )
            ).scalar()
            held = conn.execute(
                sa.select(_D.c.owner, sa.func.min(_D.c.claimed_at))
                .where(_D.c.status == str(Status.SENDING))
                .group_by(_D.c.owner)
            ).all()
        candidates = [_as_utc(failed)]
        for owner, claimed_at in held:
            candidates.append(
                _as_utc(claimed_at, timedelta(0) if owner_gone(owner) else self.lease)
            )
        present = [c for c in candidates if c is not None]
        return min(present) if present else None

    def held(self, owner: str) -> int:
        """How many rows `owner` holds in SENDING (claimed, outcome not yet recorded)."""
        with self._read() as conn:
            q = sa.select(sa.func.count()).where(
                _D.c.status == str(Status.SENDING), _D.c.owner == owner
            )
            return int(conn.execute(q).scalar() or 0)

    def history(
        self,
        *,
        limit: int = 200,
        status: Status | None = None,
        task_id: str | None = None,
    ) -> list[Delivery]:
        """Delivery rows, most recently updated first."""
        q = sa.select(_D)
        if status is not None:
            q = q.where(_D.c.status == str(status))
        if task_id is not None:
            q = q.where(_D.c.task_id == task_id)
        q = q.order_by(_D.c.updated_at.desc(), _D.c.planned_at.desc(), _D.c.key).limit(limit)
        with self._read() as conn:
            return [_delivery(row._mapping) for row in conn.execute(q)]

    def record_move(
        self, channel: str, address: str, new_address: str, now: datetime, agency: str = ""
    ) -> None:
        """Remember that `address` (as config.toml names it) is now `new_address`; a later
        move of the same address replaces it."""
        row = {
            "channel": channel,
            "address": address,
            "new_address": new_address,
            "agency": agency,
            "moved_at": _utc(now),
        }
        stmt = self._insert(_M).values(**row)
        stmt = stmt.on_conflict_do_update(
            index_elements=["channel", "address"],
            set_={"new_address": new_address, "agency": agency, "moved_at": row["moved_at"]},
        )
        with self._write() as conn:
            conn.execute(stmt)

    def moves(self) -> dict[tuple[str, str], tuple[str, datetime]]:
        """(channel, address) → (new address, when the move was seen), for every moved chat."""
        with self._read() as conn:
            rows = conn.execute(
                sa.select(_M.c.channel, _M.c.address, _M.c.new_address, _M.c.moved_at)
            )
            return {(c, a): (n, _as_utc(at) or at) for c, a, n, at in rows}

    def deliveries(self, keys: Iterable[str]) -> dict[str, Delivery]:
        """The delivery row of each of `keys` that has one."""
        keys = list(dict.fromkeys(keys))
        out: dict[str, Delivery] = {}
        with self._read() as conn:
            for chunk in _chunks(keys):
                rows = conn.execute(sa.select(_D).where(_D.c.key.in_(chunk)))
                out.update((row.key, _delivery(row._mapping)) for row in rows)
        return out

    def requeue(self, keys: Sequence[str], now: datetime) -> list[str]:
        """Put FAILED or GAVE_UP rows back in the queue: FAILED, due at `now` (`reminder
        retry`). Other rows are left as they are. Returns the keys queued."""
        now = _utc(now)
        queued: list[str] = []
        with self._write() as conn:
            for chunk in _chunks(list(dict.fromkeys(keys))):
                stmt = (
                    sa.update(_D)
                    .where(
                        _D.c.key.in_(chunk),
                        _D.c.status.in_([str(Status.FAILED), str(Status.GAVE_UP)]),
                    )
                    .values(status=str(Status.FAILED), next_attempt_at=now, updated_at=now)
                    .returning(_D.c.key)
                )
                queued.extend(conn.execute(stmt).scalars())
        return queued

    def get(self, key: str) -> Delivery | None:
        """The delivery row for `key`, if any."""
        with self._read() as conn:
            row = conn.execute(sa.select(_D).where(_D.c.key == key)).first()
        return None if row is None else _delivery(row._mapping)

    # -- completions (their own module: reminder.completions) --------------------------

    def record_done(
        self,
        task_id: str,
        occurrence: str,
        milestone_id: str | None,
        now: datetime,
        note: str = "",
    ) -> bool:
        """Shorthand: record the work as finished today (`now`'s date in Vietnam), unless it
        is already recorded as done. True if a record was written."""
        key = (task_id, occurrence, milestone_id or "")
        if key in self.completions.current(task_id):
            return False
        done_on = now.astimezone(VN_TZ).date()
        return self.completions.record_done(*key, done_on, note=note, now=now) is not None

    def done(self) -> frozenset[tuple[str, str, str | None]]:
        """Every current completion as (task_id, occurrence, milestone_id or None)."""
        return self.completions.done()


def _as_utc(value: datetime | None, plus: timedelta = timedelta(0)) -> datetime | None:
    # Aggregates (min) bypass the column type on SQLite and come back as text or naive.
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC) + plus


def _delivery(m: Any) -> Delivery:
    """A row mapping → Delivery: every field by name, the status and flag typed."""
    row = {name: m[name] for name in _DELIVERY_FIELDS}
    return Delivery(**row | {"status": Status(m["status"]), "late": bool(m["late"])})


# ---------------------------------------------------------------------------------------
# Opening, with a reason ops can act on.


def open_ledger(
    url: str, *, lease: timedelta = timedelta(minutes=5), password: str | None = None
) -> Ledger:
    """The ledger at `url`, migrated to the current schema.

    Raises LedgerError with one line naming the database (a SQLite path, or the URL without
    its password) and the operating system's reason when it cannot be opened or written:
    permission denied, read-only file system, no such directory, is a directory, disk full.
    """
    path = _sqlite_path(url)
    why = _os_reason(path) if path is not None else ""
    if why:  # asked first: a refused write would be logged as the ledger refusing writes
        raise LedgerError(f"cannot open the ledger {path}: {why}")
    ledger = Ledger(url, lease=lease, password=password)
    try:
        if ledger.dialect == "postgresql":
            # Reach the server first: a server that is down or refuses the login is
            # LedgerUnreachable (worth waiting for), not a refused write.
            with ledger.engine.connect():
                pass
        ledger.migrate()
    except (sa.exc.SQLAlchemyError, LedgerUnwritable) as exc:
        ledger.close()
        reason = unavailable(exc)
        if ledger.dialect == "postgresql" and reason is not None:
            raise LedgerUnreachable(f"cannot reach the ledger {ledger.url}: {reason}") from None
        raise LedgerError(f"cannot open the ledger {_unopenable(url, exc)}") from None
    return ledger


def _sqlite_path(url: str) -> Path | None:
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _unopenable(url: str, exc: Exception) -> str:
    """'<where>: <why>' for a database that could not be opened or migrated."""
    if isinstance(exc, LedgerUnwritable):
        said = exc.reason
    else:
        driver = getattr(exc, "orig", None) or exc
        said = (str(driver).strip().splitlines() or [type(exc).__name__])[0]
    path = _sqlite_path(url)
    if path is None:
        return f"{sa.engine.make_url(url).render_as_string(hide_password=True)}: {said}"
    return f"{path}: {_os_reason(path) or said}"


def _os_reason(path: Path) -> str:
    """Why the operating system will not let SQLite use `path` ('' if it would)."""
    import errno
    import os
    import tempfile

    if path.is_dir():
        return os.strerror(errno.EISDIR)
    if not path.parent.is_dir():
        return f"no such directory {path.parent}"
    existed = path.exists()
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o644))
        if not existed:
            path.unlink()
        # SQLite writes its journal (-wal, -shm) beside the file: the folder must take files
        # and their data (a full disk still takes an empty file).
        with tempfile.TemporaryFile(dir=path.parent) as probe:
            probe.write(b"\0" * 65536)
            probe.flush()
    except OSError as err:
        return err.strerror or str(err)
    return ""
