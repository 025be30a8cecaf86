"""Escalation to the supervising body and the weekly summary to ops: planned, sent once."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from fakes.smtp_server import FakeSMTPServer
from helpers import SHIPPED_CONFIG, write_config

from reminder.config import ConfigError, load
from reminder.dispatch import Dispatcher
from reminder.followup import escalations, summaries
from reminder.ledger import Ledger
from reminder.model import VN_TZ, Escalation, Summary, number_key
from reminder.workdays import WorkCalendar

CATALOG = load(SHIPPED_CONFIG).catalog
CAL = WorkCalendar(CATALOG.calendar)
BOSS = "lanhdao.vanphong@tinh.example"
OPS = "vanthu@tinh.example"


def at(d: date, hour: int = 8) -> datetime:
    return datetime.combine(d, time(hour), VN_TZ)


# -- planning (pure) ----------------------------------------------------------------------


def test_the_shipped_config_has_escalation_and_summary() -> None:
    """[escalation] goes to the office's leadership after 3 and 10 working days; [summary] on Mondays."""
    s = load(SHIPPED_CONFIG)
    assert s.escalation == Escalation("lanh-dao-van-phong", (3, 10))
    assert s.summary == Summary(0, time(8, 0), (OPS,), (), 14)


@pytest.mark.parametrize(
    ("rung", "sent_on"),
    [
        (3, date(2026, 11, 5)),  # due Mon 02/11/2026 (31/10 was a Saturday) + 3 working days
        (10, date(2026, 11, 16)),  # + 10 working days: two weekends skipped
    ],
)
def test_escalation_rungs_count_working_days_after_the_moved_deadline(
    rung: int, sent_on: date
) -> None:
    """Task 10's 'tổng kết' (31/10 → Mon 02/11) reaches the leadership on the rung's working day."""
    rule = Escalation("lanh-dao-van-phong", (3, 10))
    found = escalations(
        CATALOG, rule, at(sent_on, 0), at(sent_on, 23), channels=("email",), cal=CAL
    )
    mine = [r for r in found if r.task_id == "nv10" and r.milestone_id == "tong-ket"]
    assert [(r.key, r.send_at, r.kind) for r in mine] == [
        (f"nv10|2026|tong-ket|E+{rung}|lanh-dao-van-phong|email|{BOSS}", at(sent_on), "escalation")
    ]
    done = frozenset({("nv10", "2026", "tong-ket")})
    again = escalations(
        CATALOG, rule, at(sent_on, 0), at(sent_on, 23), channels=("email",), done=done, cal=CAL
    )
    assert not [r for r in again if r.task_id == "nv10" and r.milestone_id == "tong-ket"]


def test_summary_on_a_day_off_moves_to_the_next_working_day_keeping_its_week() -> None:
    """Mon 16/02/2026 is Tết: week 8's summary goes on Mon 23/02, beside week 9's, keys apart."""
    rule = Summary(0, time(8, 0), (OPS,), ("-1001",))
    found = summaries(
        CATALOG,
        rule,
        at(date(2026, 2, 9), 0),
        at(date(2026, 3, 1), 0),
        channels=("email",),
        cal=CAL,
    )
    assert [(r.occurrence, r.send_at) for r in found] == [
        ("2026-W07", at(date(2026, 2, 9))),
        ("2026-W08", at(date(2026, 2, 23))),
        ("2026-W09", at(date(2026, 2, 23))),
    ]
    assert {r.channel for r in found} == {"email"}  # telegram is off in this call
    assert found[1].key == f"summary|2026-W08|-|S|ops|email|{OPS}"


# -- through the dispatcher, on a real SMTP server ---------------------------------------------


class Rig:
    """The shipped config copied to `folder`, SMTP to the loopback server; restartable."""

    def __init__(self, folder: Path, smtp: FakeSMTPServer) -> None:
        self.settings = load(
            write_config(folder, smtp=(smtp.host, smtp.port), telegram="off", followups=True)
        )
        self.ledger = self._ledger()

    def _ledger(self) -> Ledger:
        ledger = Ledger(self.settings.database_url)
        ledger.migrate()
        return ledger

    def restart(self) -> None:
        self.ledger.close()
        self.ledger = self._ledger()

    async def cycle(self, now: datetime) -> None:
        await Dispatcher(self.settings, self.ledger).cycle(now)


@pytest.fixture
def rig(tmp_path: Path, smtp_server: FakeSMTPServer) -> Iterator[Rig]:
    made = Rig(tmp_path, smtp_server)
    yield made
    made.ledger.close()


async def test_escalation_rungs_go_once_each_across_a_restart(
    rig: Rig, smtp_server: FakeSMTPServer
) -> None:
    """E+3 and E+10 reach the leadership once each, whatever the restarts; done stops them."""
    await rig.cycle(at(date(2026, 11, 5)))
    await rig.cycle(at(date(2026, 11, 5), 9))
    rig.restart()
    await rig.cycle(at(date(2026, 11, 5), 10))
    first = smtp_server.received_for(BOSS)
    assert len(first) == 1
    text = first[0].message.get_body(("plain",)).get_content()
    assert "Kính gửi: Lãnh đạo Văn phòng Ủy ban nhân dân tỉnh" in text
    assert "Sở Khoa học và Công nghệ (1 mốc)" in text and "đã quá hạn 3 ngày" in text
    assert "nv10|2026|tong-ket|E+3|" in str(first[0].message["X-Reminder-Keys"])

    await rig.cycle(at(date(2026, 11, 16)))
    rig.restart()
    await rig.cycle(at(date(2026, 11, 16), 12))
    second = smtp_server.received_for(BOSS)[1:]
    assert len(second) == 1 and "E+10" in str(second[0].message["X-Reminder-Keys"])

    rig.ledger.completions.record_done(
        "nv06", "2026", "bao-cao", date(2026, 12, 17), now=at(date(2026, 12, 17))
    )
    await rig.cycle(at(date(2026, 12, 18)))  # 15/12 + 3 working days = Fri 18/12
    third = smtp_server.received_for(BOSS)[2:]
    assert len(third) == 1
    keys = str(third[0].message["X-Reminder-Keys"])
    assert "nv01|2026|bao-cao|E+3" in keys and "nv06|" not in keys


async def test_weekly_summary_is_caught_up_after_downtime_and_never_sent_twice(
    rig: Rig, smtp_server: FakeSMTPServer
) -> None:
    """Down at Monday 08:00, up at 11:00: the summary goes then (late), once, not again."""
    monday = date(2026, 12, 7)
    rig.ledger.completions.record_done(
        "nv10",
        "2026",
        "tong-ket",
        date(2026, 11, 4),
        ref="BC 3/BC-SKHCN",
        now=at(date(2026, 12, 3)),
    )
    await rig.cycle(at(monday, 11))
    rig.restart()
    await rig.cycle(at(monday, 11) + timedelta(minutes=30))
    await rig.cycle(at(monday + timedelta(days=1), 8))
    got = smtp_server.received_for(OPS)
    summaries_ = [m for m in got if "summary|" in str(m.message["X-Reminder-Keys"])]
    assert len(summaries_) == 1
    msg = summaries_[0].message
    assert str(msg["Subject"]).startswith("[Nhắc hạn] Tổng hợp tuần từ 07/12 đến 11/12/2026:")
    text = msg.get_body(("plain",)).get_content()
    assert "I. NHIỆM VỤ ĐẾN HẠN TRONG 14 NGÀY TỚI (5 mốc)" in text
    assert "Hạn 15/12/2026 (còn 8 ngày) – Nhiệm vụ số 1 (năm 2026)" in text
    assert "Sở Kế hoạch và Đầu tư (nay là Sở Tài chính)" in text  # overdue task 5
    assert "hoàn thành ngày 04/11/2026, chậm 2 ngày; BC 3/BC-SKHCN" in text
    assert "gửi chậm" in text  # the late note: it went 3 hours after its time
    row = rig.ledger.get(f"summary|2026-W50|-|S|ops|email|{OPS}")
    assert row is not None and row.late


def test_escalation_to_an_unknown_agency_is_a_config_error(tmp_path: Path) -> None:
    """[escalation] to = an id not in the directory: file:line, key, exit-78 error."""
    cfg = write_config(tmp_path, followups=True)
    text = cfg.read_text(encoding="utf-8").replace(
        'to = "lanh-dao-van-phong"', 'to = "lanh-dao-vp"'
    )
    cfg.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load(cfg)
    (problem,) = caught.value.problems
    assert "escalation.to" in str(problem) and "did you mean 'lanh-dao-van-phong'" in str(problem)


def test_check_names_a_missing_escalation_template(tmp_path: Path) -> None:
    """Ops' own template folder without escalation.txt: `check` says so (before a send fails)."""
    from reminder.render import default_template_dir, load_checked

    own = tmp_path / "mau"
    shutil.copytree(default_template_dir(), own)
    (own / "escalation.txt").unlink()
    cfg = write_config(tmp_path, followups=True)
    text = cfg.read_text(encoding="utf-8")
    cfg.write_text(
        text.replace(
            '# [templates]\n# dir = "/etc/reminder/templates"', f'[templates]\ndir = "{own}"'
        ),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_checked(cfg)
    (problem,) = caught.value.problems
    assert str(problem).endswith(
        f"{own / 'escalation.txt'}: template missing (needed by [escalation])"
    )


def test_telegram_forms_use_only_telegrams_tags() -> None:
    """Escalation and summary render for Telegram (bold, no other tags) and name the work."""
    from dataclasses import replace

    from reminder.followup import escalation_context, summary_context
    from reminder.render import Renderer

    renderer = Renderer(CATALOG)
    now = at(date(2026, 11, 5))
    rule = Escalation("lanh-dao-van-phong", (3,))
    batch = [
        replace(r, channel="telegram", address="-1009")
        for r in escalations(CATALOG, rule, now, now, channels=("email",), cal=CAL)
    ]
    msg = renderer.render_followup(
        batch, escalation_context(CATALOG, batch, now.date(), now), today=now.date()
    )
    assert msg.text.startswith("<b>Kính gửi: Lãnh đạo Văn phòng Ủy ban nhân dân tỉnh</b>")
    assert (
        "NV 10 (năm 2026) – Tổng kết, trao giải Hội thi: hạn 02/11/2026, <b>quá 3 ngày</b>"
        in msg.text
    )
    monday = at(date(2026, 12, 7))
    weekly = summaries(
        CATALOG,
        Summary(0, time(8), telegram=("-1009",)),
        monday,
        monday,
        channels=("telegram",),
        cal=CAL,
    )
    context = summary_context(CATALOG, Summary(0, time(8)), {}, monday, CAL)
    text = renderer.render_followup(weekly, context, today=monday.date()).text
    assert text.startswith("<b>Tổng hợp tuần từ 07/12 đến 11/12/2026</b>")
    assert "<b>Quá hạn chưa hoàn thành: 11</b>" in text


def test_the_weekly_summary_looks_past_its_days_ahead_only_in_work_done_that_week(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Deadlines after the summary's ahead_days are planned only for tasks with a completion
    recorded in the last week (done early), and the summary lists the same as from every
    task's deadlines over the whole span: what is due soon, overdue, and done early."""
    from reminder import occurrences, status
    from reminder.followup import summary_context
    from reminder.model import Completion

    monday = at(date(2026, 3, 16))
    today, span = monday.date(), timedelta(days=400)
    rule = Summary(0, time(8))
    every = status.period_deadlines(CATALOG, today - span, today + span, CAL)
    early = next(d for d in every if d.due > today + timedelta(days=60))
    done = {
        (early.task_id, early.occurrence, early.milestone_id): Completion(
            early.task_id, early.occurrence, early.milestone_id, today, monday - timedelta(days=1)
        )
    }
    planned: list[tuple[str, date]] = []
    real = occurrences.deadlines

    def counted(task: Any, cal: Any, first: date, last: date, day_off: Any) -> Any:
        planned.append((task.id, last))
        return real(task, cal, first, last, day_off)

    monkeypatch.setattr(occurrences, "deadlines", counted)
    context = summary_context(CATALOG, rule, done, monday, CAL)
    ahead = today + timedelta(days=rule.ahead_days)
    assert [t for t, last in planned if last > ahead] == [early.task_id]
    items = status.classify(CATALOG, every, done, monday)
    assert context["due_soon"] == [
        i
        for i in items
        if i.state is status.State.IN_PROGRESS and i.deadline and i.deadline <= ahead
    ]
    assert context["overdue"] == sorted(
        (i for i in items if i.state is status.State.OVERDUE),
        key=lambda i: (-i.days, number_key(i.task_number), i.occurrence),
    )
    assert [(i.task_id, i.occurrence, i.milestone_id) for i in context["done"]] == [  # type: ignore[attr-defined]
        (early.task_id, early.occurrence, early.milestone_id)
    ]
