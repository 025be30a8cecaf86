"""What agencies send back, other than completions: Telegram chat links and link codes, the
chats the bot has seen, acknowledgements ("Đã nhận"), and the calendar feeds' SEQUENCE numbers.

The tables live in the ledger's database and are reached through its engine
(`Ledger.replies`); this module owns their SQL. Completions have their own module
(`reminder.completions`): a button press that says "done" is recorded there.

- telegram_link: a chat linked to an agency by a one-time code (`reminder telegram-link`),
  until ops revoke it. Chat ids written in config.toml do not need a row.
- telegram_code: the one-time codes, stored as SHA-256 hashes with their expiry; using one
  marks it used in the same transaction that links the chat, so a code links one chat once.
- telegram_chat: the chats the daemon's poller saw (id, type, title, last seen), so that
  `reminder telegram-chats` can list them without calling getUpdates (which would steal the
  daemon's updates).
- acknowledgement: who pressed "Đã nhận" for which deadline, first press only.
- feed_sequence: per calendar event UID, the fingerprint last published and its SEQUENCE.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel

__all__ = ["Acknowledgement", "LinkedChat", "Replies", "SeenChat"]


class TelegramLinkRow(SQLModel, table=True):
    """A chat linked to an agency. `revoked_at` set: no longer linked."""

    __tablename__ = "telegram_link"

    chat_id: str = Field(primary_key=True)
    agency: str = Field(index=True)
    title: str = Field(default="", sa_column_kwargs={"server_default": ""})
    linked_at: datetime
    linked_by: str = Field(default="", sa_column_kwargs={"server_default": ""})
    revoked_at: datetime | None = None


class TelegramCodeRow(SQLModel, table=True):
    """A one-time link code (its SHA-256), for one agency, until `expires_at`."""

    __tablename__ = "telegram_code"

    code_hash: str = Field(primary_key=True)
    agency: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    used_by_chat: str | None = None


class TelegramChatRow(SQLModel, table=True):
    """A chat the daemon's poller saw an update from."""

    __tablename__ = "telegram_chat"

    chat_id: str = Field(primary_key=True)
    kind: str
    title: str = Field(default="", sa_column_kwargs={"server_default": ""})
    member: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    last_seen: datetime


class AcknowledgementRow(SQLModel, table=True):
    """An agency said it received the reminder of a deadline (first press kept)."""

    __tablename__ = "acknowledgement"

    task_id: str = Field(primary_key=True)
    occurrence: str = Field(primary_key=True)
    milestone_id: str = Field(primary_key=True)
    at: datetime
    by: str = Field(default="", sa_column_kwargs={"server_default": ""})


class FeedSequenceRow(SQLModel, table=True):
    """The SEQUENCE of a calendar event and the fingerprint it was last published with."""

    __tablename__ = "feed_sequence"

    uid: str = Field(primary_key=True)
    fingerprint: str
    sequence: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


_L: sa.Table = TelegramLinkRow.__table__  # type: ignore[attr-defined]
_K: sa.Table = TelegramCodeRow.__table__  # type: ignore[attr-defined]
_T: sa.Table = TelegramChatRow.__table__  # type: ignore[attr-defined]
_A: sa.Table = AcknowledgementRow.__table__  # type: ignore[attr-defined]
_F: sa.Table = FeedSequenceRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class LinkedChat:
    chat_id: str
    agency: str
    title: str
    linked_at: datetime
    linked_by: str


@dataclass(frozen=True, slots=True)
class SeenChat:
    chat_id: str
    kind: str
    title: str
    member: bool
    last_seen: datetime


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    task_id: str
    occurrence: str
    milestone_id: str
    at: datetime
    by: str


class CodeRefused(Exception):
    """A link code that is unknown, already used or expired. `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"link code {reason}")
        self.reason = reason  # "unknown" | "used" | "expired"


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got naive {value!r}")
    return value.astimezone(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


class Replies:
    """The answer-back tables of one ledger database (`Ledger.replies`)."""

    def __init__(self, engine: Engine, writer: Engine, insert: Any) -> None:
        """`engine` reads; `writer` writes (the ledger's write lock); `insert` is the
        dialect's INSERT (for ON CONFLICT)."""
        self.engine = engine
        self.writer = writer
        self._insert = insert

    # -- link codes and linked chats --------------------------------------------------------

    def add_code(self, code: str, agency: str, now: datetime, expires_at: datetime) -> None:
        """Store a new one-time code (only its hash) for `agency`."""
        with self.writer.begin() as conn:
            conn.execute(
                sa.insert(_K).values(
                    code_hash=code_hash(code),
                    agency=agency,
                    created_at=_utc(now),
                    expires_at=_utc(expires_at),
                )
            )

    def use_code(self, code: str, chat_id: str, title: str, by: str, now: datetime) -> LinkedChat:
        """Link `chat_id` to the code's agency and spend the code, in one transaction.
        CodeRefused (nothing written) if the code is unknown, used or expired."""
        now = _utc(now)
        with self.writer.begin() as conn:
            row = conn.execute(sa.select(_K).where(_K.c.code_hash == code_hash(code))).first()
            if row is None:
                raise CodeRefused("unknown")
            if row.used_at is not None:
                raise CodeRefused("used")
            if _aware(row.expires_at) < now:
                raise CodeRefused("expired")
            conn.execute(
                sa.update(_K)
                .where(_K.c.code_hash == row.code_hash, _K.c.used_at.is_(None))
                .values(used_at=now, used_by_chat=chat_id)
            )
            values = {
                "agency": row.agency,
                "title": title,
                "linked_at": now,
                "linked_by": by,
                "revoked_at": None,
            }
            stmt = self._insert(_L).values(chat_id=chat_id, **values)
            conn.execute(stmt.on_conflict_do_update(index_elements=["chat_id"], set_=values))
            return LinkedChat(chat_id, row.agency, title, now, by)

    def linked(self) -> list[LinkedChat]:
        """The chats linked now (not revoked), by agency then chat."""
        q = sa.select(_L).where(_L.c.revoked_at.is_(None)).order_by(_L.c.agency, _L.c.chat_id)
        with self.engine.connect() as conn:
            return [
                LinkedChat(r.chat_id, r.agency, r.title, _aware(r.linked_at), r.linked_by)
                for r in conn.execute(q)
            ]

    def linked_chats(self) -> dict[str, str]:
        """chat id → agency, for the chats linked now."""
        return {c.chat_id: c.agency for c in self.linked()}

    def revoke(self, chat_id: str, now: datetime) -> bool:
        """Unlink a chat; False if it was not linked."""
        with self.writer.begin() as conn:
            res = conn.execute(
                sa.update(_L)
                .where(_L.c.chat_id == chat_id, _L.c.revoked_at.is_(None))
                .values(revoked_at=_utc(now))
            )
            return bool(res.rowcount)

    # -- chats seen by the poller -----------------------------------------------------------

    def saw_chat(self, chat_id: str, kind: str, title: str, member: bool, now: datetime) -> None:
        """Record (or refresh) a chat the poller saw."""
        values = {"kind": kind, "title": title, "member": member, "last_seen": _utc(now)}
        stmt = self._insert(_T).values(chat_id=chat_id, **values)
        with self.writer.begin() as conn:
            conn.execute(stmt.on_conflict_do_update(index_elements=["chat_id"], set_=values))

    def seen_chats(self) -> list[SeenChat]:
        """Every chat the poller saw, most recent first."""
        q = sa.select(_T).order_by(_T.c.last_seen.desc(), _T.c.chat_id)
        with self.engine.connect() as conn:
            return [
                SeenChat(r.chat_id, r.kind, r.title, bool(r.member), _aware(r.last_seen))
                for r in conn.execute(q)
            ]

    # -- acknowledgements -------------------------------------------------------------------

    def acknowledge(
        self, task_id: str, occurrence: str, milestone_id: str, by: str, now: datetime
    ) -> bool:
        """Record "received" for a deadline; False (nothing written) if already recorded."""
        stmt = (
            self._insert(_A)
            .values(
                task_id=task_id,
                occurrence=occurrence,
                milestone_id=milestone_id,
                at=_utc(now),
                by=by,
            )
            .on_conflict_do_nothing(index_elements=["task_id", "occurrence", "milestone_id"])
            .returning(_A.c.task_id)
        )
        with self.writer.begin() as conn:
            return conn.execute(stmt).first() is not None

    def acknowledgements(self, task_id: str | None = None) -> list[Acknowledgement]:
        q = sa.select(_A).order_by(_A.c.at)
        if task_id is not None:
            q = q.where(_A.c.task_id == task_id)
        with self.engine.connect() as conn:
            return [
                Acknowledgement(r.task_id, r.occurrence, r.milestone_id, _aware(r.at), r.by)
                for r in conn.execute(q)
            ]

    # -- calendar feed sequences ------------------------------------------------------------

    def sequences(self, fingerprints: Mapping[str, str]) -> dict[str, int]:
        """The SEQUENCE of each UID: 0 when first seen, raised by one each time its
        fingerprint differs from the one stored (which is then replaced)."""
        out: dict[str, int] = {}
        uids = list(fingerprints)
        with self.writer.begin() as conn:
            known: dict[str, tuple[str, int]] = {}
            for start in range(0, len(uids), 500):
                chunk = uids[start : start + 500]
                for r in conn.execute(sa.select(_F).where(_F.c.uid.in_(chunk))):
                    known[r.uid] = (r.fingerprint, r.sequence)
            for uid, fp in fingerprints.items():
                if uid not in known:
                    conn.execute(sa.insert(_F).values(uid=uid, fingerprint=fp, sequence=0))
                    out[uid] = 0
                elif known[uid][0] != fp:
                    seq = known[uid][1] + 1
                    conn.execute(
                        sa.update(_F).where(_F.c.uid == uid).values(fingerprint=fp, sequence=seq)
                    )
                    out[uid] = seq
                else:
                    out[uid] = known[uid][1]
        return out
