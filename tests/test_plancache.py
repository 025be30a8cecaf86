"""The daemon's plan cache: every answer is plan()'s; the missed look-back still records all."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from helpers import INLINE_CONFIG, write_config

from reminder.config import load
from reminder.dispatch import Dispatcher
from reminder.followup import escalations
from reminder.ledger import Ledger, Status
from reminder.model import VN_TZ, Catalog
from reminder.planner import PlanCache, plan
from reminder.workdays import WorkCalendar

SHIPPED = Path(__file__).resolve().parents[1] / "config.toml"
START = datetime(2026, 1, 1, tzinfo=VN_TZ)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load(SHIPPED).catalog


def _windows(seed: int) -> list[tuple[datetime, datetime]]:
    """Windows as a daemon and odd callers ask: forward steps, jumps back, wide and narrow."""
    rng = random.Random(seed)
    at, out = START, []
    for _ in range(120):
        at += timedelta(minutes=rng.choice([5, 60, 24 * 60, 3 * 24 * 60, -40 * 24 * 60]))
        width = timedelta(hours=rng.choice([0, 1, 24, 48, 24 * 31, 24 * 45]))
        out.append((at - width, at) if rng.random() < 0.5 else (at, at + width))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_answer_is_what_plan_gives(catalog: Catalog, seed: int) -> None:
    """120 windows in a row (steps, jumps back, longer than the span): the same list as plan()."""
    cal = WorkCalendar(catalog.calendar)
    cache = PlanCache.of_plan(catalog, ("email", "telegram"), cal)
    for since, until in _windows(seed):
        assert cache.plan(since, until) == plan(catalog, since, until, cal=cal), (since, until)


def test_completions_apply_to_each_answer(catalog: Catalog) -> None:
    """A completion recorded (or undone) between two questions is honoured by the next answer."""
    cal = WorkCalendar(catalog.calendar)
    cache = PlanCache.of_plan(catalog, ("email",), cal)
    since, until = datetime(2026, 12, 1, tzinfo=VN_TZ), datetime(2026, 12, 16, tzinfo=VN_TZ)
    everything = cache.plan(since, until)
    first = everything[0]
    whole = frozenset({(first.task_id, first.occurrence, None)})
    one = frozenset({(first.task_id, first.occurrence, first.milestone_id)})
    for done in (whole, one, frozenset()):
        expected = plan(catalog, since, until, channels=("email",), done=done, cal=cal)
        assert cache.plan(since, until, done) == expected
    assert cache.plan(since, until, whole) != everything


@pytest.mark.parametrize("seed", [4, 5])
def test_escalations_from_the_cache_are_what_escalations_gives(seed: int) -> None:
    """The shipped [escalation] rule through a PlanCache: the same list for every window,
    with and without a completion."""
    settings = load(SHIPPED)
    rule, cat = settings.escalation, settings.catalog
    assert rule is not None
    cal = WorkCalendar(cat.calendar)
    chans = ("email", "telegram")
    cache = PlanCache(lambda a, b: escalations(cat, rule, a, b, channels=chans, cal=cal))
    for since, until in _windows(seed):
        expected = escalations(cat, rule, since, until, channels=chans, cal=cal)
        assert cache.plan(since, until) == expected, (since, until)
        if expected:
            e = expected[0]
            done = frozenset({(e.task_id, e.occurrence, e.milestone_id)})
            again = escalations(cat, rule, since, until, channels=chans, done=done, cal=cal)
            assert cache.plan(since, until, done) == again


def test_catalog_task_finds_by_id_or_number_an_id_winning() -> None:
    """Catalog.task("9") and ("nv09") give the same task; an id that is another's bare number
    wins over that number (the name <plan>/<number> still finds the other); a replaced catalog
    looks up its own tasks (an inline plan, where a task's id is its only old name)."""
    catalog = load(INLINE_CONFIG).catalog
    assert catalog.task("9") is catalog.task("nv09")
    first, second = catalog.tasks[0], catalog.tasks[1]
    clash = replace(second, id=str(first.number))
    edited = replace(catalog, tasks=(first, clash, *catalog.tasks[2:]))
    assert edited.task(str(first.number)) is clash
    assert edited.task(first.name) is first
    assert edited.task(str(clash.number)) is clash
    with pytest.raises(KeyError):
        edited.task(second.id)


async def test_undone_work_in_the_look_back_is_recorded_as_missed(tmp_path: Path) -> None:
    """Keys already seen in the look-back are not rewritten, yet work whose completion is
    undone after it fell due, while the daemon runs, is still recorded as missed."""
    settings = load(write_config(tmp_path, email="outbox", telegram="off"))
    ledger = Ledger(settings.database_url, lease=settings.lease)
    ledger.migrate()
    dispatcher = Dispatcher(settings, ledger)
    now = datetime(2026, 12, 1, 8, 0, tzinfo=VN_TZ)
    first = await dispatcher.cycle(now)
    assert first.sent
    # 15/12 (D-0 of the year's reports): record one occurrence done before its reminders.
    due_day = datetime(2026, 12, 15, 8, 0, tzinfo=VN_TZ)
    target = next(r for r in dispatcher.due(due_day)[0])
    ledger.record_done(target.task_id, target.occurrence, None, now)
    skipped = await dispatcher.cycle(due_day)
    assert all(r.task_id != target.task_id for r in dispatcher.due(due_day)[0])
    # Two days on, still running: undo it. Its 15/12 reminders are past the catch-up window.
    later = due_day + timedelta(days=2)
    await dispatcher.cycle(later - timedelta(minutes=5))
    ledger.completions.undo(target.task_id, target.occurrence, None, now=later)
    outcome = await dispatcher.cycle(later)
    assert outcome.missed >= 1 and skipped.sent
    row = ledger.get(target.key)
    assert row is not None and row.status is Status.MISSED
    ledger.close()
