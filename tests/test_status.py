"""The pure status module: five classes, moved deadlines, days late, successors, refusals."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from reminder.model import (
    VN_TZ,
    Agency,
    CalendarRules,
    Catalog,
    Completion,
    Frequency,
    LeadTimes,
    Milestone,
    PlanInfo,
    Recurrence,
    Role,
    Task,
)
from reminder.status import (
    Refused,
    State,
    agency_label,
    check_done,
    classify,
    matrix,
    period_deadlines,
    totals,
)
from reminder.workdays import WorkCalendar

AGENCIES = {
    "snv": Agency("snv", "Sở Nội vụ", emails=("noivu@t.example",)),
    "skhdt": Agency("skhdt", "Sở Kế hoạch và Đầu tư", succeeded_by="stc"),
    "stc": Agency("stc", "Sở Tài chính", emails=("taichinh@t.example",)),
}
LADDERS = {Role.LEAD: LeadTimes(before=(7,)), Role.SUPPORT: LeadTimes(before=(3,))}
CAL = WorkCalendar(CalendarRules())


def task(
    tid: str,
    number: str,
    *milestones: Milestone,
    lead: str = "snv",
    timing: Recurrence | None = None,
    trigger: date | None = None,
) -> Task:
    return Task(
        id=tid,
        number=number,
        title=f"Nhiệm vụ {number}",
        timing=timing or Recurrence(Frequency.YEARLY),
        lead=lead,
        support=(),
        milestones=milestones,
        trigger_date=trigger,
    )


TET = task("tet", "1", Milestone("bc", "Báo cáo", due=(17, 2)))  # 17/02/2026 is Tết → 23/02
MERGED = task("kh", "2", Milestone("kh", "Kế hoạch", due=(31, 3)), lead="skhdt")
TRIGGERED = task(
    "tr", 3, Milestone("th", "Triển khai", days_after=30), timing=Recurrence(Frequency.TRIGGERED)
)
CATALOG = Catalog(
    PlanInfo("Kế hoạch", "UBND tỉnh"), (TET, MERGED, TRIGGERED), AGENCIES, CalendarRules(), LADDERS
)


def at(d: date) -> datetime:
    return datetime.combine(d, time(9), VN_TZ)


def done(tid: str, occ: str, ms: str, on: date) -> Completion:
    return Completion(tid, occ, ms, on, datetime(2026, 12, 1, tzinfo=UTC))


def items_at(now: date, *completions: Completion):
    book = {(c.task_id, c.occurrence, c.milestone_id): c for c in completions}
    dls = period_deadlines(CATALOG, date(2026, 1, 1), date(2026, 12, 31), CAL)
    return {i.task_id: i for i in classify(CATALOG, dls, book, at(now))}


@pytest.mark.parametrize(
    ("now", "done_on", "state", "days"),
    [
        (date(2026, 2, 10), None, State.IN_PROGRESS, 0),  # before the nominal date
        (date(2026, 2, 20), None, State.IN_PROGRESS, 0),  # nominal passed, moved one not
        (date(2026, 2, 23), None, State.IN_PROGRESS, 0),  # the moved deadline itself
        (date(2026, 2, 24), None, State.OVERDUE, 1),  # the day after the moved deadline
        (date(2026, 3, 5), None, State.OVERDUE, 10),
        (date(2026, 3, 5), date(2026, 2, 23), State.DONE_ON_TIME, 0),  # done on the moved day
        (date(2026, 3, 5), date(2026, 2, 24), State.DONE_LATE, 1),  # the day after = 1 day late
        (date(2026, 3, 5), date(2026, 2, 18), State.DONE_ON_TIME, 0),  # during Tết
        (date(2026, 2, 10), date(2026, 2, 9), State.DONE_ON_TIME, 0),  # early, not yet due
        (date(2026, 12, 31), date(2026, 3, 2), State.DONE_LATE, 7),  # calendar days, not working
    ],
)
def test_deadline_moved_off_tet_classes(
    now: date, done_on: date | None, state: State, days: int
) -> None:
    """17/02/2026 (Tết) moves to 23/02: done that day is on time, the day after 1 day late."""
    comps = [done("tet", "2026", "bc", done_on)] if done_on else []
    item = items_at(now, *comps)["tet"]
    assert (item.deadline, item.nominal) == (date(2026, 2, 23), date(2026, 2, 17))
    assert item.moved and "Tết" in item.moved[0]
    assert (item.state, item.days) == (state, days)


def test_a_whole_occurrence_record_counts_for_each_milestone_its_own_wins() -> None:
    """`done T OCC` (milestone '') finishes every milestone; a milestone's own record wins."""
    whole = done("tet", "2026", "", date(2026, 2, 27))
    assert items_at(date(2026, 3, 5), whole)["tet"].state is State.DONE_LATE
    own = done("tet", "2026", "bc", date(2026, 2, 20))
    assert items_at(date(2026, 3, 5), whole, own)["tet"].state is State.DONE_ON_TIME


def test_waiting_for_the_trigger_then_a_deadline() -> None:
    """A triggered task without its trigger waits (no deadline); with one, it is due 30 days on."""
    item = items_at(date(2026, 6, 1))["tr"]
    assert (item.state, item.deadline, item.occurrence) == (State.WAITING, None, "")
    triggered = task(
        "tr", "3", *TRIGGERED.milestones, timing=TRIGGERED.timing, trigger=date(2026, 5, 4)
    )
    cat = Catalog(CATALOG.plan, (triggered,), AGENCIES, CalendarRules(), LADDERS)
    dls = period_deadlines(cat, date(2026, 1, 1), date(2026, 12, 31), CAL)
    (item,) = classify(cat, dls, {}, at(date(2026, 6, 10)))
    assert (item.state, item.deadline, item.days) == (State.OVERDUE, date(2026, 6, 3), 7)


def test_merged_agency_counts_for_its_successor_and_is_labelled() -> None:
    """Sở KH&ĐT's task is counted in Sở Tài chính's row, labelled "(nay là Sở Tài chính)"."""
    item = items_at(date(2026, 4, 1))["kh"]
    assert (item.agency, item.counted_for) == ("skhdt", "stc")
    assert item.agency_label == "Sở Kế hoạch và Đầu tư (nay là Sở Tài chính)"
    assert agency_label(CATALOG, "snv") == "Sở Nội vụ"
    rows = matrix(CATALOG, items_at(date(2026, 4, 1)).values())
    assert [(r.agency, r.name) for r in rows] == [("snv", "Sở Nội vụ"), ("stc", "Sở Tài chính")]


def test_matrix_counts_rate_and_totals() -> None:
    """Counts per class; rate = on time / (done + overdue); nothing due yet → no rate."""
    items = items_at(date(2026, 4, 1), done("tet", "2026", "bc", date(2026, 2, 23))).values()
    rows = {r.agency: r for r in matrix(CATALOG, items)}
    snv, stc = rows["snv"], rows["stc"]
    assert snv.counts[State.DONE_ON_TIME] == 1 and snv.counts[State.WAITING] == 1
    assert snv.on_time_rate == 1.0
    assert (stc.counts[State.OVERDUE], stc.on_time_rate) == (1, 0.0)
    total = totals(rows.values())
    assert (total.total, total.due, total.on_time_rate) == (3, 2, 0.5)
    early = {r.agency: r for r in matrix(CATALOG, items_at(date(2026, 1, 5)).values())}
    assert early["stc"].on_time_rate is None


def test_empty_ledger_is_all_in_progress_or_overdue() -> None:
    """With no completion records every dated item is đang thực hiện or quá hạn."""
    states = {i.state for i in items_at(date(2026, 3, 1)).values() if i.deadline}
    assert states <= {State.IN_PROGRESS, State.OVERDUE}


def test_labels_are_the_offices_words() -> None:
    """The class names read as the office's monitoring tables write them."""
    assert [s.label for s in State] == [
        "Hoàn thành đúng hạn",
        "Hoàn thành quá hạn",
        "Quá hạn chưa hoàn thành",
        "Đang thực hiện",
        "Chờ sự kiện",
    ]


@pytest.mark.parametrize(
    ("occ", "ms", "on", "message"),
    [
        ("2026", "xx", date(2026, 3, 1), "no milestone 'xx'"),
        ("2O26", None, date(2026, 3, 1), "no occurrence '2O26'"),
        ("2026-Q1", None, date(2026, 3, 1), "no occurrence '2026-Q1'"),
        ("2026", None, date(2026, 12, 2), "2026-12-02 is in the future"),
        ("2026", "bc", date(2025, 12, 31), "before occurrence 2026 of task 1 begins"),
    ],
)
def test_check_done_refusals(occ: str, ms: str | None, on: date, message: str) -> None:
    """Unknown milestone/occurrence, a future day, a day before the occurrence: refused."""
    with pytest.raises(Refused, match=message):
        check_done(TET, occ, ms, on, date(2026, 12, 1))


def test_check_done_accepts_today_and_the_occurrence_start() -> None:
    """Today, 1 January of the occurrence's year, and an undo (no date) are accepted."""
    check_done(TET, "2026", "bc", date(2026, 12, 1), date(2026, 12, 1))
    check_done(TET, "2026", None, date(2026, 1, 1), date(2026, 12, 1))
    check_done(TET, "2026", "bc", None, date(2026, 12, 1))


def test_tasks_of_one_shape_have_their_deadlines_computed_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """period_deadlines computes the deadlines once per shape (timing, trigger, day-off rule,
    milestones): a second task of TET's shape gets the same dates under its own id."""
    from dataclasses import replace

    from reminder import occurrences

    twin = replace(TET, id="tet2", number="4", lead="stc")
    catalog = replace(CATALOG, tasks=(TET, MERGED, twin))
    calls: list[str] = []
    real = occurrences.deadlines

    def counted(t: Task, *args: object) -> object:
        calls.append(t.id)
        return real(t, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(occurrences, "deadlines", counted)
    found = period_deadlines(catalog, date(2026, 1, 1), date(2027, 12, 31), CAL)
    assert calls == ["tet", "kh"]
    mine = [(d.occurrence, d.nominal, d.due, d.reasons) for d in found if d.task_id == "tet"]
    theirs = [(d.occurrence, d.nominal, d.due, d.reasons) for d in found if d.task_id == "tet2"]
    assert mine == theirs and len(mine) == 2
    assert mine[0][2] == date(2026, 2, 23)  # Tết moved it
