"""Dispatcher.cycle end to end: the shipped plan, a real ledger (every test runs on a temp
SQLite file and on a PostgreSQL database), and the real channels against the loopback SMTP
server and the fake Telegram Bot API."""

from __future__ import annotations

import asyncio
import logging
import unicodedata
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import SMTP_PASSWORD, SMTP_USER
from fakes.smtp_server import FakeSMTPServer, Received
from fakes.telegram_api import TOKEN as BOT_TOKEN
from fakes.telegram_api import FakeTelegramAPI
from helpers import write_config
from pgcluster import PgCluster

from reminder import views
from reminder.config import Settings, load
from reminder.dispatch import Dispatcher, Outcome
from reminder.ledger import Delivery, Ledger, Status
from reminder.model import VN_TZ, Reminder
from reminder.render import message_id

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=VN_TZ)  # D-14 of the 15/12/2026 reports: 9 inboxes
DOMAIN = "tinh.example"  # from the shipped sender nhachan@tinh.example


class Rig:
    """One configuration, its ledger and dispatcher; `restart()` reopens both on the same DB."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.settings: Settings = load(config)
        self.ledgers: list[Ledger] = []
        self.dispatcher = self._open()

    def _open(self) -> Dispatcher:
        s = self.settings
        ledger = Ledger(s.database_url, lease=s.lease, password=s.database_password)
        ledger.migrate()
        self.ledgers.append(ledger)
        return Dispatcher(self.settings, ledger)

    @property
    def ledger(self) -> Ledger:
        return self.dispatcher.ledger

    def restart(self) -> None:
        """A new process: a new Ledger and Dispatcher on the same database file."""
        self.ledger.close()
        self.dispatcher = self._open()

    async def cycle(self, now: datetime) -> Outcome:
        return await self.dispatcher.cycle(now)

    def due(self, now: datetime, channel: str | None = None) -> list[Reminder]:
        return [r for r in self.dispatcher.due(now)[0] if channel in (None, r.channel)]

    def rows(self) -> dict[str, Delivery]:
        return {d.key: d for d in self.ledger.history(limit=10_000)}

    def close(self) -> None:
        for ledger in self.ledgers:
            ledger.close()


@pytest.fixture
def rigs() -> Iterator[list[Rig]]:
    made: list[Rig] = []
    yield made
    for rig in made:
        rig.close()


@pytest.fixture
def make_rig(
    tmp_path: Path,
    rigs: list[Rig],
    backend: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> Any:
    """make_rig(**write_config options) → a Rig on a temp copy of the shipped config, its
    ledger on `backend` (PostgreSQL: a new database, the password in the environment)."""
    counter = iter(range(100))

    def database() -> str | None:
        if backend == "sqlite":
            return None
        cluster: PgCluster = request.getfixturevalue("pg_cluster")
        monkeypatch.setenv("REMINDER_DATABASE_PASSWORD", cluster.password)
        return cluster.url(cluster.new_database(), password=False)

    def make(**options: Any) -> Rig:
        folder = tmp_path / f"rig{next(counter)}"
        folder.mkdir()
        rig = Rig(write_config(folder, database=database(), **options))
        rigs.append(rig)
        return rig

    return make


@pytest.fixture
def email_rig(make_rig: Any, smtp_server: FakeSMTPServer) -> Rig:
    """SMTP to the plain loopback server (no AUTH); Telegram off."""
    rig: Rig = make_rig(smtp=(smtp_server.host, smtp_server.port), telegram="off")
    return rig


def keys_of(received: Received) -> set[str]:
    header = received.message["X-Reminder-Keys"]
    assert header, "every reminder e-mail names its keys"
    return {k.strip() for k in str(header).split(",")}


def plain(received: Received) -> str:
    part = received.message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def html(received: Received) -> str:
    part = received.message.get_body(("html",))
    assert part is not None
    return str(part.get_content())


def by_address(reminders: list[Reminder]) -> dict[str, list[Reminder]]:
    out: dict[str, list[Reminder]] = defaultdict(list)
    for r in reminders:
        out[r.address].append(r)
    return out


# -- digests and message form ----------------------------------------------------------------


async def test_one_digest_per_agency_and_address(
    email_rig: Rig, smtp_server: FakeSMTPServer
) -> None:
    """One e-mail per distinct (agency, address) due; each digest lists each of its tasks."""
    due = email_rig.due(NOW, "email")
    assert len(due) > len({(r.agency, r.address) for r in due}) > 1, "the plan must need digests"

    outcome = await email_rig.cycle(NOW)

    assert len(smtp_server.messages) == len({(r.agency, r.address) for r in due})
    assert outcome.messages == len(smtp_server.messages) and outcome.sent == len(due)
    tasks = {t.id: t for t in email_rig.settings.catalog.tasks}
    for address, batch in by_address(due).items():
        [got] = smtp_server.received_for(address)
        assert got.rcpt_tos == (address,)
        assert keys_of(got) == {r.key for r in batch}
        body = plain(got)
        for r in batch:
            assert f"Nhiệm vụ số {tasks[r.task_id].number}: {tasks[r.task_id].title}" in body
    assert {d.status for d in email_rig.rows().values()} == {Status.SENT}


async def test_vietnamese_nfc_multipart_and_message_id_from_keys(
    make_rig: Any, smtp_server: FakeSMTPServer
) -> None:
    """Subject and bodies decode to NFC Vietnamese; text+HTML alternative; Message-ID from keys."""
    first = make_rig(smtp=(smtp_server.host, smtp_server.port), telegram="off")
    await first.cycle(NOW)
    sent_once = list(smtp_server.messages)
    assert sent_once

    for got in sent_once:
        msg = got.message
        subject = str(msg["Subject"])
        assert subject.startswith("[Nhắc hạn] ") and "hạn" in subject
        assert unicodedata.is_normalized("NFC", subject)
        assert msg.get_content_type() == "multipart/alternative"
        kinds = [part.get_content_type() for part in msg.iter_parts()]
        assert kinds == ["text/plain", "text/html"]
        for body in (plain(got), html(got)):
            assert unicodedata.is_normalized("NFC", body)
            assert "Kính gửi:" in body and "Trân trọng." in body
        assert str(msg["Message-ID"]) == message_id(sorted(keys_of(got)), DOMAIN)
    ids = [str(got.message["Message-ID"]) for got in sent_once]
    assert len(set(ids)) == len(ids)

    # The same reminders from another ledger (a fresh install) carry the same Message-IDs.
    second = make_rig(smtp=(smtp_server.host, smtp_server.port), telegram="off")
    await second.cycle(NOW)
    again = smtp_server.messages[len(sent_once) :]
    assert sorted(str(g.message["Message-ID"]) for g in again) == sorted(ids)


async def test_injected_title_arrives_as_text_in_email(
    make_rig: Any, smtp_server: FakeSMTPServer
) -> None:
    """A title holding <script> and {{ 7*7 }}: literal in text, escaped in HTML, never 49."""
    title = "Thu hút nguồn <script>alert(1)</script> {{ 7*7 }} cán bộ"
    rig = make_rig(
        smtp=(smtp_server.host, smtp_server.port), telegram="off", titles={"nv02": title}
    )
    await rig.cycle(NOW)
    hits = [g for g in smtp_server.messages if any(k.startswith("nv02|") for k in keys_of(g))]
    assert hits
    for got in hits:
        text, page = plain(got), html(got)
        assert title in text
        assert "Thu hút nguồn &lt;script&gt;alert(1)&lt;/script&gt; {{ 7*7 }} cán bộ" in page
        assert "<script" not in page
        subject = str(got.message["Subject"])
        if len(keys_of(got)) == 1:  # a single reminder names its task in the subject
            assert title in subject
        for body in (text, page, subject):
            assert "nguồn 49" not in body and "49 cán bộ" not in body


# -- exactly once ----------------------------------------------------------------------------


async def test_second_cycle_and_restart_send_nothing_new(
    email_rig: Rig, smtp_server: FakeSMTPServer
) -> None:
    """Once sent, the same instant sends nothing: neither a second cycle nor a restarted process."""
    sent_keys = [r.key for r in email_rig.due(NOW, "email")]
    first = await email_rig.cycle(NOW)
    count = len(smtp_server.messages)
    assert first.messages == count > 0

    again = await email_rig.cycle(NOW)
    assert (again.messages, again.sent) == (0, 0)
    assert len(smtp_server.messages) == count

    email_rig.restart()
    later = await email_rig.cycle(NOW + timedelta(minutes=5))
    assert (later.messages, later.sent, later.missed) == (0, 0, 0)
    assert len(smtp_server.messages) == count
    rows = email_rig.rows()
    assert {rows[k].status for k in sent_keys} == {Status.SENT}


async def test_two_processes_on_one_ledger_send_each_reminder_once(
    email_rig: Rig, smtp_server: FakeSMTPServer
) -> None:
    """Two dispatchers cycling at once on the same database: every key goes out exactly once."""
    other = Rig(email_rig.config)
    try:
        due = email_rig.due(NOW, "email")
        a, b = await asyncio.gather(email_rig.cycle(NOW), other.cycle(NOW))
    finally:
        other.close()
    assert a.sent + b.sent == len(due)
    sent = [k for g in smtp_server.messages for k in keys_of(g)]
    assert sorted(sent) == sorted(r.key for r in due)
    assert len(smtp_server.messages) == len({(r.agency, r.address) for r in due})


# -- failures --------------------------------------------------------------------------------


async def test_tempfail_recipient_is_retried_after_backoff(
    email_rig: Rig, smtp_server: FakeSMTPServer
) -> None:
    """451 for a recipient → FAILED with next_attempt_at; nothing before it, delivered after."""
    address = "sonoivu@tinh.example"
    mine = by_address(email_rig.due(NOW, "email"))[address]
    smtp_server.tempfail = {address}

    outcome = await email_rig.cycle(NOW)

    assert outcome.failed == len(mine) and outcome.gave_up == 0
    assert smtp_server.received_for(address) == []
    others = len(smtp_server.messages)
    rows = email_rig.rows()
    retry_at = NOW + timedelta(seconds=1)  # retry_initial_seconds = 1
    for r in mine:
        row = rows[r.key]
        assert row.status is Status.FAILED and row.attempts == 1
        assert row.next_attempt_at == retry_at
        assert row.last_error and "451" in row.last_error

    smtp_server.tempfail = set()
    early = await email_rig.cycle(NOW + timedelta(milliseconds=500))
    assert (early.messages, early.sent) == (0, 0)
    assert len(smtp_server.messages) == others

    retried = await email_rig.cycle(retry_at)
    assert retried.sent == len(mine) and retried.messages == 1
    [got] = smtp_server.received_for(address)
    assert keys_of(got) == {r.key for r in mine}
    rows = email_rig.rows()
    assert all(rows[r.key].status is Status.SENT and rows[r.key].attempts == 2 for r in mine)


async def test_server_down_then_back_loses_nothing(
    email_rig: Rig, smtp_server: FakeSMTPServer
) -> None:
    """SMTP server stopped → every row FAILED; it comes back → the retry delivers all of them."""
    due = email_rig.due(NOW, "email")
    smtp_server.stop()

    down = await email_rig.cycle(NOW)

    assert down.failed == len(due) and down.messages == 0
    rows = email_rig.rows()
    assert {rows[r.key].status for r in due} == {Status.FAILED}
    retry_at = min(d.next_attempt_at for d in rows.values() if d.next_attempt_at)
    assert retry_at > NOW

    smtp_server.start()
    early = await email_rig.cycle(retry_at - timedelta(milliseconds=1))
    assert early.messages == 0 and smtp_server.messages == []

    back = await email_rig.cycle(retry_at)
    assert back.sent == len(due) and back.failed == 0
    assert len(smtp_server.messages) == len({(r.agency, r.address) for r in due})
    delivered = set().union(*(keys_of(g) for g in smtp_server.messages))
    assert delivered == {r.key for r in due}
    rows = email_rig.rows()
    assert {rows[r.key].status for r in due} == {Status.SENT}


async def test_server_gone_mid_batch_loses_and_repeats_nothing(
    email_rig: Rig, smtp_server: FakeSMTPServer
) -> None:
    """The server stops after 3 messages: the rest fail, and the retry sends only those."""
    due = email_rig.due(NOW, "email")
    channel = email_rig.dispatcher.channels["email"]
    real_send = channel.send

    async def send_then_die(message: Any) -> Any:
        receipt = await real_send(message)
        if len(smtp_server.messages) == 3:
            smtp_server.stop()
        return receipt

    channel.send = send_then_die  # type: ignore[method-assign]
    first = await email_rig.cycle(NOW)

    assert first.messages == 3 and first.failed == len(due) - first.sent > 0
    smtp_server.start()
    channel.send = real_send  # type: ignore[method-assign]
    await email_rig.cycle(NOW + timedelta(seconds=1))

    sent = [k for g in smtp_server.messages for k in keys_of(g)]
    assert sorted(sent) == sorted(r.key for r in due)
    assert len(smtp_server.messages) == len({(r.agency, r.address) for r in due})
    rows = email_rig.rows()
    assert {rows[r.key].status for r in due} == {Status.SENT}


async def test_refused_recipient_gives_up_and_is_never_retried(
    email_rig: Rig, smtp_server: FakeSMTPServer
) -> None:
    """550 for a recipient → GAVE_UP at once; later cycles never try that address again."""
    address = "sotaichinh@tinh.example"
    mine = by_address(email_rig.due(NOW, "email"))[address]
    smtp_server.refuse = {address}

    outcome = await email_rig.cycle(NOW)

    assert outcome.gave_up == len(mine) and outcome.failed == 0
    for later in (timedelta(seconds=1), timedelta(seconds=30), timedelta(hours=3)):
        await email_rig.cycle(NOW + later)
    assert smtp_server.received_for(address) == []
    rows = email_rig.rows()
    for r in mine:
        assert rows[r.key].status is Status.GAVE_UP and rows[r.key].attempts == 1
        assert rows[r.key].next_attempt_at is None
        assert "550" in (rows[r.key].last_error or "")


async def test_retries_exhausted_give_up(make_rig: Any, smtp_server: FakeSMTPServer) -> None:
    """A recipient answered 451 every time is given up after max_attempts, backing off 1 s, 2 s."""
    rig: Rig = make_rig(smtp=(smtp_server.host, smtp_server.port), telegram="off", max_attempts=3)
    address = "sonoivu@tinh.example"
    key = by_address(rig.due(NOW, "email"))[address][0].key
    smtp_server.tempfail = {address}

    now, waits = NOW, []
    for _ in range(10):
        await rig.cycle(now)
        row = rig.ledger.get(key)
        assert row is not None
        if row.status is Status.GAVE_UP:
            break
        assert row.status is Status.FAILED and row.next_attempt_at is not None
        waits.append(row.next_attempt_at - now)
        now = row.next_attempt_at
    assert row.status is Status.GAVE_UP and row.attempts == 3
    assert waits == [timedelta(seconds=1), timedelta(seconds=2)]
    assert smtp_server.received_for(address) == []
    await rig.cycle(now + timedelta(minutes=1))
    assert rig.ledger.get(key) == row


async def test_a_retry_outlasting_the_catch_up_window_is_still_sent_while_useful(
    email_rig: Rig, smtp_server: FakeSMTPServer
) -> None:
    """A failed reminder whose next cycle comes 25 h later (past the catch-up window) is sent
    then, marked late, the earlier error annotated; one still failing when its next rung is
    due is given up as superseded by it."""
    fixed, broken = "sotaichinh@tinh.example", "sonoivu@tinh.example"
    due = by_address(email_rig.due(NOW, "email"))
    smtp_server.tempfail = {fixed, broken}
    await email_rig.cycle(NOW)
    smtp_server.tempfail = {broken}

    await email_rig.cycle(NOW + timedelta(hours=25))

    [got] = smtp_server.received_for(fixed)
    assert keys_of(got) == {r.key for r in due[fixed]}
    assert "được gửi chậm so với lịch" in plain(got)
    rows = email_rig.rows()
    for r in due[fixed]:
        row = rows[r.key]
        assert (row.status, row.late, row.attempts) == (Status.SENT, True, 2)
        assert (row.last_error or "").startswith("sent at attempt 2; earlier: ")
        assert "451" in (row.last_error or "")
    # 15/12 09:00: the D-0 (lead) reminder of 08:00 has taken over every D-14 one
    deadline_day = datetime(2026, 12, 15, 9, 0, tzinfo=VN_TZ)
    await email_rig.cycle(deadline_day)
    rows = email_rig.rows()
    for r in due[broken]:
        assert rows[r.key].status is Status.GAVE_UP
        assert (rows[r.key].last_error or "").startswith("superseded by its "), r.key
    assert smtp_server.received_for(broken) == []


async def test_a_refused_login_is_retried_for_hours_and_delivered_once_fixed(
    make_rig: Any,
    smtp_tls_server: FakeSMTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A wrong SMTP password, with the shipped retry settings (60 s doubling to 1 h, no attempt
    limit): still FAILED after 3 hours of retries, and delivered once the password is fixed."""
    monkeypatch.setenv("REMINDER_SMTP_PASSWORD", "Sai-mật-khẩu-3-giờ")
    rig: Rig = make_rig(
        smtp=(smtp_tls_server.host, smtp_tls_server.port),
        security="starttls",
        username=SMTP_USER,
        ca_file=smtp_tls_server.ca_pem,
        telegram="off",
        retry=(60, 3600),
    )
    due = rig.due(NOW, "email")
    now, attempts = NOW, 0
    while now < NOW + timedelta(hours=3):
        outcome = await rig.cycle(now)
        assert outcome.gave_up == 0 and outcome.failed == len(due)
        attempts += 1
        now = min(d.next_attempt_at for d in rig.rows().values() if d.next_attempt_at)
    assert attempts == 8  # the 8th (at 2 h 03 min) used to give up; the 9th is at 3 h 03
    monkeypatch.setenv("REMINDER_SMTP_PASSWORD", SMTP_PASSWORD)  # ops fix it and reload
    rig.settings = load(rig.config)
    rig.restart()
    fixed = await rig.cycle(now)
    assert fixed.sent == len(due) and fixed.gave_up == 0
    assert {d.status for d in rig.rows().values()} == {Status.SENT}


# -- catch-up and completions ----------------------------------------------------------------


async def test_catch_up_sends_late_and_records_older_as_missed(
    email_rig: Rig, smtp_server: FakeSMTPServer
) -> None:
    """2 h late → sent with the late wording; past catch_up_hours → MISSED and never sent."""
    late_now = NOW + timedelta(hours=2)
    due = email_rig.due(late_now, "email")
    assert due and all(r.send_at == NOW for r in due)

    outcome = await email_rig.cycle(late_now)

    assert outcome.late == outcome.sent == len(due)
    for got in smtp_server.messages:
        assert "được gửi chậm so với lịch" in plain(got)
        assert "được gửi chậm so với lịch" in html(got)
    rows = email_rig.rows()
    assert all(rows[r.key].late for r in due)

    # The daemon is down from then until 25 hours after the next reminders (08/12 08:00).
    next_instant = datetime(2026, 12, 8, 8, 0, tzinfo=VN_TZ)
    next_due = [r for r in email_rig.due(next_instant, "email") if r.send_at == next_instant]
    assert next_due
    count = len(smtp_server.messages)

    gone = await email_rig.cycle(next_instant + timedelta(hours=25))

    assert gone.messages == 0 and gone.missed >= len(next_due)
    assert len(smtp_server.messages) == count
    rows = email_rig.rows()
    for r in next_due:
        assert rows[r.key].status is Status.MISSED and rows[r.key].sent_at is None


async def test_fresh_ledger_does_not_record_missed(
    email_rig: Rig, smtp_server: FakeSMTPServer
) -> None:
    """On an empty ledger, reminders older than the catch-up window are neither sent nor missed."""
    outcome = await email_rig.cycle(datetime(2026, 12, 9, 9, 0, tzinfo=VN_TZ))
    assert outcome.missed == 0 and outcome.messages == 0
    assert email_rig.rows() == {} and smtp_server.messages == []


async def test_reminders_from_before_the_first_send_are_never_missed(
    email_rig: Rig, smtp_server: FakeSMTPServer
) -> None:
    """After the first send, later cycles do not record what fell due before the install as missed."""
    first = await email_rig.cycle(NOW)
    assert first.sent and first.missed == 0
    later = await email_rig.cycle(NOW + timedelta(minutes=5))
    assert later.missed == 0 and later.messages == 0
    before_install = email_rig.due(datetime(2026, 11, 13, 9, 0, tzinfo=VN_TZ), "email")  # D-30
    rows = email_rig.rows()
    assert before_install and not any(r.key in rows for r in before_install)


async def test_keys_sent_here_are_not_offered_as_missed_when_they_leave_the_window(
    email_rig: Rig, smtp_server: FakeSMTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wake-up after the catch-up window passed the sent keys writes no missed rows for them."""
    offered: list[str] = []
    record_missed = email_rig.ledger.record_missed

    def spy(reminders: list[Reminder], now: datetime) -> list[Reminder]:
        offered.extend(r.key for r in reminders)
        return record_missed(reminders, now)

    monkeypatch.setattr(email_rig.ledger, "record_missed", spy)
    first = await email_rig.cycle(NOW)
    assert first.sent
    sent = {k for k, row in email_rig.rows().items() if row.status is Status.SENT}
    assert len(sent) == first.sent

    past = NOW + email_rig.settings.catch_up + timedelta(minutes=5)
    later = await email_rig.cycle(past)

    assert email_rig.dispatcher.due(past)[1], "the sent keys are in the look-back now"
    assert later.missed == 0 and not sent & set(offered)
    assert all(row.status is Status.SENT for k, row in email_rig.rows().items() if k in sent)


async def test_a_wake_up_plans_only_the_look_back_it_has_not_seen(
    email_rig: Rig, smtp_server: FakeSMTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wake-up plans the missed look-back only from where the previous wake-up's ended."""
    await email_rig.cycle(NOW)
    later = NOW + timedelta(days=2)
    await email_rig.cycle(later)
    asked: list[tuple[datetime, datetime]] = []
    plan = email_rig.dispatcher._plan

    def spy(since: datetime, until: datetime, done: Any) -> list[Reminder]:
        asked.append((since, until))
        return plan(since, until, done)

    monkeypatch.setattr(email_rig.dispatcher, "_plan", spy)
    await email_rig.cycle(later + timedelta(minutes=5))

    assert min(since for since, _until in asked) == later - email_rig.settings.catch_up


async def test_work_undone_after_its_look_back_was_seen_is_recorded_missed(
    email_rig: Rig, smtp_server: FakeSMTPServer
) -> None:
    """A completion undone later brings its unsent reminders of the look-back back: MISSED."""
    await email_rig.cycle(NOW)
    instant = datetime(2026, 12, 8, 8, 0, tzinfo=VN_TZ)
    [r, *_] = [r for r in email_rig.due(instant, "email") if r.send_at == instant]
    work = (r.task_id, r.occurrence, r.milestone_id)
    gone = [x for x in email_rig.due(instant) if (x.task_id, x.occurrence, x.milestone_id) == work]
    email_rig.ledger.record_done(*work, NOW + timedelta(hours=1))
    down_until = instant + timedelta(hours=25)

    first = await email_rig.cycle(down_until)

    assert first.missed and not any(x.key in email_rig.rows() for x in gone)
    email_rig.ledger.completions.undo(*work, now=down_until + timedelta(minutes=1))
    again = await email_rig.cycle(down_until + timedelta(minutes=5))
    rows = email_rig.rows()
    assert again.missed == len(gone)
    assert all(rows[x.key].status is Status.MISSED for x in gone)


async def test_done_occurrence_gets_no_more_reminders(
    email_rig: Rig, smtp_server: FakeSMTPServer
) -> None:
    """ledger.record_done (what `reminder done` writes) stops that occurrence's reminders."""
    email_rig.ledger.record_done("nv01", "2026", None, NOW - timedelta(days=1), "xong")

    await email_rig.cycle(NOW)

    sent = set().union(*(keys_of(g) for g in smtp_server.messages))
    assert sent and not any(k.startswith("nv01|2026|") for k in sent)
    assert any(k.startswith("nv02|2026|") for k in sent)
    for got in smtp_server.messages:
        assert "Nhiệm vụ số 1:" not in plain(got)
    later = datetime(2026, 12, 8, 8, 0, tzinfo=VN_TZ)
    await email_rig.cycle(later)
    sent = set().union(*(keys_of(g) for g in smtp_server.messages))
    assert not any(k.startswith("nv01|2026|") for k in sent)
    assert not any(k.startswith("nv01|") for k in email_rig.rows())


async def test_done_also_stops_a_pending_retry(
    email_rig: Rig, smtp_server: FakeSMTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A retry pending when its occurrence is recorded done is dropped, saying so (not an error)."""
    caplog.set_level(logging.INFO)
    address = "sonoivu@tinh.example"
    mine = by_address(email_rig.due(NOW, "email"))[address]
    smtp_server.tempfail = {address}
    await email_rig.cycle(NOW)
    smtp_server.tempfail = set()

    email_rig.ledger.record_done("nv01", "2026", None, NOW + timedelta(milliseconds=500))
    await email_rig.cycle(NOW + timedelta(seconds=1))

    [got] = smtp_server.received_for(address)
    assert keys_of(got) == {r.key for r in mine if r.task_id != "nv01"}
    rows = email_rig.rows()
    [nv01] = [rows[r.key] for r in mine if r.task_id == "nv01"]
    assert nv01.status is Status.GAVE_UP and nv01.sent_at is None
    assert nv01.last_error == "its occurrence was recorded as done"
    gave_up = [r for r in caplog.records if r.getMessage().startswith("gave up")]
    assert gave_up and all(r.levelno == logging.INFO for r in gave_up)


async def test_a_retry_wake_up_says_what_is_left_to_retry(
    email_rig: Rig, smtp_server: FakeSMTPServer
) -> None:
    """The next wake-up for retries names what it will do: N failed sends to retry; once their
    work is recorded done, none to retry and N to give up (issue 24 item 9: not "retries of
    failed or unfinished sends" when nothing is left to retry)."""
    address = "sonoivu@tinh.example"
    mine = by_address(email_rig.due(NOW, "email"))[address]
    smtp_server.tempfail = {address}
    await email_rig.cycle(NOW)
    found = email_rig.dispatcher.next_wakeup(NOW)
    assert found is not None and found[1] == []  # a retry instant, no planned reminder
    at = found[0]
    assert at == NOW + timedelta(seconds=1)
    plan = email_rig.dispatcher.retry_plan
    assert plan(at) == f"retries: {len(mine)} failed send(s) to retry"

    for task, occurrence in {(r.task_id, r.occurrence) for r in mine}:
        email_rig.ledger.record_done(task, occurrence, None, NOW + timedelta(milliseconds=500))
    assert plan(at) == (
        f"retries: {len(mine)} send(s) to give up (its occurrence was recorded as done)"
    )
    smtp_server.tempfail = set()
    await email_rig.cycle(at)
    after = email_rig.dispatcher.next_wakeup(at)
    assert after is None or after[1], "nothing is left to retry: no retry wake-up"
    assert plan(at) == "retries: none left (a check only)"


# -- secrets ---------------------------------------------------------------------------------


def logged(caplog: pytest.LogCaptureFixture) -> str:
    """Every captured record of the program (not the fake servers' own), args and tracebacks."""
    out = []
    for record in caplog.records:
        if record.name.startswith("mail.log"):  # aiosmtpd, the test's server
            continue
        out.append(record.getMessage())
        if record.exc_info:
            out.append(logging.Formatter().formatException(record.exc_info))
        if record.exc_text:
            out.append(record.exc_text)
    return "\n".join(out)


def files_holding(folder: Path, secret: str) -> list[Path]:
    """Files under `folder` (config, ledger DB and WAL, outbox) whose bytes contain `secret`."""
    needle = secret.encode("utf-8")
    return [p for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()]


async def test_starttls_auth_delivers_without_leaking_the_password(
    make_rig: Any,
    smtp_tls_server: FakeSMTPServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    """STARTTLS + AUTH with the password from the environment: delivered, password never logged."""
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("REMINDER_SMTP_PASSWORD", SMTP_PASSWORD)
    rig: Rig = make_rig(
        smtp=(smtp_tls_server.host, smtp_tls_server.port),
        security="starttls",
        username=SMTP_USER,
        ca_file=smtp_tls_server.ca_pem,
        telegram="off",
    )
    due = rig.due(NOW, "email")

    outcome = await rig.cycle(NOW)

    assert outcome.sent == len(due) and outcome.failed == outcome.gave_up == 0
    assert len(smtp_tls_server.messages) == len({(r.agency, r.address) for r in due})
    assert (SMTP_USER, True) in smtp_tls_server.logins
    assert SMTP_PASSWORD not in logged(caplog) + str(outcome)
    assert files_holding(tmp_path, SMTP_PASSWORD) == []


async def test_wrong_smtp_password_is_retried_and_never_leaks(
    make_rig: Any,
    smtp_tls_server: FakeSMTPServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    """AUTH refused (535) → FAILED, retried; once ops fix the password everything goes out.
    The wrong password is in no log, error, ledger row or file."""
    caplog.set_level(logging.DEBUG)
    wrong = "Sai-mật-khẩu-9f8e7d"
    monkeypatch.setenv("REMINDER_SMTP_PASSWORD", wrong)
    rig: Rig = make_rig(
        smtp=(smtp_tls_server.host, smtp_tls_server.port),
        security="starttls",
        username=SMTP_USER,
        ca_file=smtp_tls_server.ca_pem,
        telegram="outbox",
    )
    due = rig.due(NOW, "email")

    outcome = await rig.cycle(NOW)

    assert smtp_tls_server.messages == [] and (SMTP_USER, False) in smtp_tls_server.logins
    assert outcome.failed == len(due) and outcome.gave_up == 0
    rows = rig.ledger.history(limit=10_000)
    email_rows = [d for d in rows if d.channel == "email"]
    assert {d.status for d in email_rows} == {Status.FAILED}
    assert all("535" in (d.last_error or "") for d in email_rows)
    everything = "\n".join(
        [logged(caplog), str(outcome), *outcome.errors, *(d.last_error or "" for d in rows)]
    )
    for secret in (wrong, SMTP_PASSWORD):
        assert secret not in everything
        assert files_holding(tmp_path, secret) == []
    assert list((rig.config.parent / "outbox").glob("*.json")), "telegram went to the outbox"

    monkeypatch.setenv("REMINDER_SMTP_PASSWORD", SMTP_PASSWORD)  # ops fix it and reload
    rig.settings = load(rig.config)
    rig.restart()
    fixed = await rig.cycle(NOW + timedelta(seconds=5))
    assert fixed.sent == len(due) and fixed.gave_up == 0
    assert {d.status for d in rig.ledger.history(limit=10_000) if d.channel == "email"} == {
        Status.SENT
    }


# -- Telegram --------------------------------------------------------------------------------


@pytest.fixture
async def telegram_api() -> AsyncIterator[FakeTelegramAPI]:
    """The fake Bot API in the test's own event loop."""
    async with FakeTelegramAPI() as api:
        yield api


@pytest.fixture
def telegram_rig(
    make_rig: Any, telegram_api: FakeTelegramAPI, monkeypatch: pytest.MonkeyPatch
) -> Any:
    """telegram_rig(**options) → a Rig sending Telegram to the fake Bot API; e-mail off."""
    monkeypatch.setenv("REMINDER_TELEGRAM_TOKEN", BOT_TOKEN)

    def make(**options: Any) -> Rig:
        rig: Rig = make_rig(email="off", telegram_url=telegram_api.base_url, **options)
        return rig

    return make


def send_calls(api: FakeTelegramAPI) -> int:
    return sum(1 for method in api.calls if method == "sendMessage")


async def test_telegram_digests_are_html_with_titles_escaped(
    telegram_rig: Any, telegram_api: FakeTelegramAPI, caplog: pytest.LogCaptureFixture
) -> None:
    """One parse_mode=HTML message per chat; <script> and {{ 7*7 }} arrive escaped, never 49."""
    caplog.set_level(logging.DEBUG)
    title = "Thu hút nguồn <script>alert(1)</script> {{ 7*7 }} cán bộ"
    rig: Rig = telegram_rig(titles={"nv02": title})
    due = rig.due(NOW, "telegram")
    chats = by_address(due)
    assert len(chats) > 1

    outcome = await rig.cycle(NOW)

    assert outcome.sent == len(due) and outcome.gave_up == outcome.failed == 0
    assert len(telegram_api.sent) == len({(r.agency, r.address) for r in due})
    tasks = {t.id: t for t in rig.settings.catalog.tasks}
    for chat, batch in chats.items():
        [got] = telegram_api.sent_to(chat)
        assert got.parse_mode == "HTML"
        assert unicodedata.is_normalized("NFC", got.text)
        assert got.text.startswith("<b>NHẮC HẠN") and "Kính gửi:" in got.text
        for r in batch:
            assert f"Nhiệm vụ số {tasks[r.task_id].number}</b>" in got.text
        if any(r.task_id == "nv02" for r in batch):
            assert (
                "Thu hút nguồn &lt;script&gt;alert(1)&lt;/script&gt; {{ 7*7 }} cán bộ" in got.text
            )
            assert "<script" not in got.text and "nguồn 49" not in got.text
    assert {d.status for d in rig.rows().values()} == {Status.SENT}
    assert BOT_TOKEN not in logged(caplog)
    assert BOT_TOKEN.partition(":")[2] not in logged(caplog)


async def test_telegram_group_upgraded_to_supergroup_is_followed_and_logged(
    telegram_rig: Any, telegram_api: FakeTelegramAPI, caplog: pytest.LogCaptureFixture
) -> None:
    """400 + migrate_to_chat_id: the message goes to the new id and the log names it."""
    old, new = "-1001000000001", -1002000000009
    telegram_api.migrate(old, new)
    rig: Rig = telegram_rig()
    due = rig.due(NOW, "telegram")
    mine = by_address(due)[old]

    outcome = await rig.cycle(NOW)

    assert outcome.sent == len(due) and outcome.gave_up == outcome.failed == 0
    assert telegram_api.sent_to(old) == []
    [got] = telegram_api.sent_to(new)
    assert got.parse_mode == "HTML" and "Kính gửi: Sở Nội vụ" in got.text
    rows = rig.rows()
    assert all(rows[r.key].status is Status.SENT for r in mine)
    assert all("supergroup" in rows[r.key].note for r in mine)
    warnings = [
        rec.getMessage()
        for rec in caplog.records
        if rec.name == "reminder.dispatch" and rec.levelno == logging.WARNING
    ]
    assert any(old in w and str(new) in w and "config.toml" in w for w in warnings), warnings


async def test_a_moved_chat_is_remembered_and_used_until_the_config_names_it(
    telegram_rig: Any, telegram_api: FakeTelegramAPI, caplog: pytest.LogCaptureFixture
) -> None:
    """After a supergroup migration the new chat id is in the delivery note (history) and in
    the ledger; a week later the next reminder goes straight to it (no 400 first), saying
    so; once config.toml names the new id, sends go there with no move note."""
    old, new = "-1001000000001", -1002000000009
    telegram_api.migrate(old, new)
    rig: Rig = telegram_rig()
    mine = by_address(rig.due(NOW, "telegram"))[old]
    await rig.cycle(NOW)
    rows = rig.rows()
    for r in mine:
        assert rows[r.key].note.startswith(f"moved: telegram {old} is now {new} ("), rows[
            r.key
        ].note
    assert rig.ledger.moves()[("telegram", old)][0] == str(new)
    assert f"moved: telegram {old} is now {new}" in views.history_table(
        rig.ledger.history(limit=1000), VN_TZ
    )

    week = NOW + timedelta(days=7)  # the D-7 reminders of the same deadlines
    later = by_address(rig.due(week, "telegram"))[old]
    calls, delivered = send_calls(telegram_api), len(telegram_api.sent)
    rig.restart()  # a new process: the move comes from the ledger
    caplog.clear()
    await rig.cycle(week)
    assert send_calls(telegram_api) - calls == len(telegram_api.sent) - delivered  # no 400 first
    assert len(telegram_api.sent_to(new)) == 2 and telegram_api.sent_to(old) == []
    rows = rig.rows()
    for r in later:
        assert rows[r.key].status is Status.SENT
        assert rows[r.key].note.startswith(f"moved: sent to {new}, the new id of telegram {old}")
    assert sum(str(new) in m and "update config.toml" in m for m in caplog.messages) == 1

    text = rig.config.read_text(encoding="utf-8")
    rig.config.write_text(text.replace(f'"{old}"', f'"{new}"'), encoding="utf-8")
    rig.settings = load(rig.config)
    rig.restart()
    day_before = datetime(2026, 12, 14, 8, 0, tzinfo=VN_TZ)
    fresh = by_address(rig.due(day_before, "telegram"))[str(new)]
    await rig.cycle(day_before)
    rows = rig.rows()
    assert fresh and all(rows[r.key].status is Status.SENT for r in fresh)
    assert not any(rows[r.key].note.startswith("moved: ") for r in fresh)


async def test_telegram_flood_control_is_retried_no_sooner_than_asked(
    telegram_rig: Any, telegram_api: FakeTelegramAPI
) -> None:
    """429 retry_after 45 s (longer than the channel waits) → FAILED until then, then delivered."""
    chat = "-1001000000002"
    telegram_api.flood(chat, retry_after=45, times=1)
    rig: Rig = telegram_rig()
    mine = by_address(rig.due(NOW, "telegram"))[chat]

    outcome = await rig.cycle(NOW)

    assert outcome.failed == len(mine) and outcome.gave_up == 0
    rows = rig.rows()
    assert {rows[r.key].next_attempt_at for r in mine} == {NOW + timedelta(seconds=45)}
    early = await rig.cycle(NOW + timedelta(seconds=44))
    assert early.messages == 0 and telegram_api.sent_to(chat) == []
    await rig.cycle(NOW + timedelta(seconds=45))
    [got] = telegram_api.sent_to(chat)
    assert got.parse_mode == "HTML"
    rows = rig.rows()
    assert all(rows[r.key].status is Status.SENT and rows[r.key].attempts == 2 for r in mine)


async def test_telegram_blocked_or_unknown_chat_gives_up_for_good(
    telegram_rig: Any, telegram_api: FakeTelegramAPI
) -> None:
    """403 (bot blocked) and 400 chat not found → GAVE_UP, never sent again on later cycles."""
    blocked, unknown = "-1001000000002", "-1001000000003"
    telegram_api.kick(blocked)
    telegram_api.chat_not_found(unknown)
    rig: Rig = telegram_rig()
    chats = by_address(rig.due(NOW, "telegram"))

    outcome = await rig.cycle(NOW)

    assert outcome.gave_up == len(chats[blocked]) + len(chats[unknown])
    assert outcome.failed == 0
    tries = send_calls(telegram_api)
    for later in (timedelta(seconds=1), timedelta(seconds=30), timedelta(hours=3)):
        await rig.cycle(NOW + later)
    assert send_calls(telegram_api) == tries
    assert telegram_api.sent_to(blocked) == telegram_api.sent_to(unknown) == []
    rows = rig.rows()
    for chat, code in ((blocked, "kicked"), (unknown, "chat not found")):
        for r in chats[chat]:
            assert rows[r.key].status is Status.GAVE_UP and rows[r.key].attempts == 1
            assert code in (rows[r.key].last_error or "").lower()


async def test_wrong_bot_token_is_retried_and_never_leaks(
    make_rig: Any,
    telegram_api: FakeTelegramAPI,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    """401 for a wrong token → FAILED, retried later; the token is in no log, error, ledger row or file."""
    caplog.set_level(logging.DEBUG)
    wrong = "987654321:AAWrongTokenForTests-zzzz_9876543"
    monkeypatch.setenv("REMINDER_TELEGRAM_TOKEN", wrong)
    rig: Rig = make_rig(email="outbox", telegram_url=telegram_api.base_url)
    due = rig.due(NOW, "telegram")

    outcome = await rig.cycle(NOW)

    assert telegram_api.sent == [] and "getMe" in telegram_api.calls
    assert outcome.failed == len(due) and outcome.gave_up == 0
    rows = rig.ledger.history(limit=10_000)
    tg_rows = [d for d in rows if d.channel == "telegram"]
    assert {d.status for d in tg_rows} == {Status.FAILED}
    assert all(d.next_attempt_at is not None for d in tg_rows)
    everything = "\n".join(
        [logged(caplog), str(outcome), *outcome.errors, *(d.last_error or "" for d in rows)]
    )
    assert "token" in everything
    for secret in (wrong, wrong.partition(":")[2], BOT_TOKEN):
        assert secret not in everything
        assert files_holding(tmp_path, secret) == []
    assert list((rig.config.parent / "outbox").glob("*.eml")), "e-mail went to the outbox"
