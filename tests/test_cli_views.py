"""`reminder upcoming`, `explain` and `check` on the shipped config: the issue's done criteria."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import holidays
import pytest
from helpers import SHIPPED_PLAN, copy_plans

from reminder import cli

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "config.toml"
BIN = Path(sys.executable).parent / "reminder"
NOW = "2026-11-26T09:00:00+07:00"
WITH_DEADLINES = {"nv01", "nv02", "nv04", "nv05", "nv06", "nv09", "nv10", "nv11"}
WAITING = {"nv03", "nv07", "nv08"}
FIELDS = {
    "task",
    "milestone",
    "deadline",
    "send_at",
    "lead_days",
    "agency",
    "role",
    "channel",
    "address",
    "key",
}


def run_cli(*args: str, config: Path = SHIPPED) -> subprocess.CompletedProcess[str]:
    """The installed `reminder` script, as ops run it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMINDER_")}
    return subprocess.run(
        [str(BIN), "--config", str(config), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=60,
        check=False,
    )


def main(
    capsys: pytest.CaptureFixture[str], *args: str, config: Path = SHIPPED
) -> tuple[int, str, str]:
    """cli.main in this process: (exit code, stdout, stderr)."""
    code = cli.main(["--config", str(config), *args])
    out, err = capsys.readouterr()
    return code, out, err


def edited_config(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    """A copy of the shipped config with each (old, new) text replaced exactly once."""
    text = SHIPPED.read_text(encoding="utf-8")
    plan = SHIPPED_PLAN.read_text(encoding="utf-8")
    for old, new in edits:
        assert text.count(old) + plan.count(old) >= 1, old
        if old in text:
            text = text.replace(old, new, 1)
        else:
            plan = plan.replace(old, new, 1)
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    copy_plans(tmp_path, plan)
    return path


def days_off(years: range) -> set[date]:
    """Vietnamese public holidays from the `holidays` package (an oracle independent of workdays)."""
    table = holidays.country_holidays("VN", years=list(years))
    return set(table)


def swap_saturdays(years: range) -> set[date]:
    return set(holidays.country_holidays("VN", years=list(years)).weekend_workdays)


TRIGGERED_AND_ASSIGNED = (
    ("# trigger_date = 2027-01-15 ", "trigger_date = 2027-01-15 "),
    ("dates = []                      # add the deadline(s)", "dates = [2027-06-30]  #"),
    ("dates = []                      # add the date(s)", "dates = [2027-09-03]  #"),
)


# -- the done criteria -----------------------------------------------------------------------


def check_items(items: list[dict[str, object]]) -> None:
    """Every JSON item: the fields and formats promised, on a working day, not after its deadline."""
    off = days_off(range(2026, 2029))
    swaps = swap_saturdays(range(2026, 2029))
    for item in items:
        assert set(item) >= FIELDS, item
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(item["deadline"])), item
        send_at = datetime.fromisoformat(str(item["send_at"]))
        assert str(item["send_at"]).endswith("+07:00"), item
        assert item["role"] in ("lead", "support"), item
        assert item["channel"] in ("email", "telegram"), item
        assert isinstance(item["lead_days"], int)
        assert str(item["key"]).startswith(f"{item['task']}|"), item
        day = send_at.date()
        assert day not in off, item
        assert day.weekday() < 5 or day in swaps, item
        deadline = date.fromisoformat(str(item["deadline"]))
        if int(str(item["lead_days"])) >= 0:
            assert day <= deadline, item
        else:
            assert day > deadline, item


def test_upcoming_json_covers_every_task_with_a_deadline() -> None:
    """`upcoming --json --days 400` lists tasks 1, 2, 4, 5, 6, 9, 10, 11 and none of 3, 7, 8 (waiting)."""
    result = run_cli("upcoming", "--json", "--now", NOW, "--days", "400")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    items = [i for i in json.loads(result.stdout) if i["kind"] == "reminder"]
    assert {item["task"] for item in items} == WITH_DEADLINES
    check_items(items)
    start = datetime.fromisoformat(NOW)
    assert all(
        start <= datetime.fromisoformat(i["send_at"]) <= start + timedelta(days=400) for i in items
    )


def test_upcoming_json_includes_tasks_once_dated(tmp_path: Path) -> None:
    """With trigger_date set for task 3 and dates for tasks 7 and 8, their reminders appear too."""
    config = edited_config(tmp_path, *TRIGGERED_AND_ASSIGNED)
    result = run_cli("upcoming", "--json", "--now", NOW, "--days", "400", config=config)
    assert result.returncode == 0, result.stderr
    items = [i for i in json.loads(result.stdout) if i["kind"] == "reminder"]
    assert {item["task"] for item in items} == WITH_DEADLINES | WAITING
    check_items(items)
    deadlines = {(i["task"], i["milestone"], i["deadline"]) for i in items if i["task"] in WAITING}
    assert deadlines == {
        # 15/01/2027 + 30 days = Sun 14/02/2027 → Mon 15/02/2027; + 90 days = Thu 15/04/2027
        ("nv03", "ke-hoach", "2027-02-15"),
        ("nv03", "bao-cao", "2027-04-15"),
        ("nv07", "hoan-thanh", "2027-06-30"),
        # Fri 03/09/2027 is Quốc khánh → Mon 06/09/2027
        ("nv08", "to-chuc", "2027-09-06"),
    }


# -- upcoming: the table ----------------------------------------------------------------------


def test_upcoming_table_names_roles_in_vietnamese_and_successors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The table shows 'chủ trì' / 'phối hợp' and 'Sở Kế hoạch và Đầu tư (nay là Sở Tài chính)'."""
    code, out, _ = main(capsys, "upcoming", "--now", "2027-06-10T09:00:00+07:00", "--days", "40")
    assert code == 0
    assert (
        "chủ trì  Sở Kế hoạch và Đầu tư (nay là Sở Tài chính)  [email] sotaichinh@tinh.example"
        in out
    )
    assert (
        "phối hợp Ủy ban nhân dân các huyện, thành phố (nay là Ủy ban nhân dân các xã, phường)"
        in out
    )
    assert "deadline 15/07/2027" in out
    assert "Tue 15/06/2027 08:00" in out  # D-30 of Thu 15/07/2027


def test_upcoming_table_group_members_and_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    """A group member reads 'X (for “group”)'; the unreachable groups are warned about on stderr."""
    code, out, err = main(capsys, "upcoming", "--now", NOW, "--days", "10")
    assert code == 0
    assert out.startswith("Reminders from 26/11/2026 09:00 to 06/12/2026 09:00")
    assert "Sở Tài chính (for “các cơ quan, đơn vị, địa phương trên địa bàn tỉnh”)" in out
    assert "phối hợp" in out and "chủ trì" in out
    assert "'các tổ chức có liên quan' reaches nobody" in err


def test_upcoming_empty_window(capsys: pytest.CaptureFixture[str]) -> None:
    """A window with nothing to send says so, and exits 0."""
    code, out, _ = main(capsys, "upcoming", "--now", NOW, "--days", "3")
    assert code == 0
    assert "(nothing to send in this window)" in out


@pytest.mark.parametrize(
    ("days", "count"),
    [
        (4, 0),  # to Mon 30/11 09:00: nothing
        (5, 47),  # to Tue 01/12 09:00: the D-14 reminders of 15/12/2026 at 08:00
        (14, 56),  # + D-7 on Tue 08/12
    ],
)
def test_upcoming_days_bounds(capsys: pytest.CaptureFixture[str], days: int, count: int) -> None:
    """--days N lists exactly the reminders sent in [now, now + N days]."""
    code, out, _ = main(capsys, "upcoming", "--json", "--now", NOW, "--days", str(days))
    assert code == 0
    items = [i for i in json.loads(out) if i["kind"] == "reminder"]
    assert len(items) == count
    start = datetime.fromisoformat(NOW)
    assert all(
        start <= datetime.fromisoformat(i["send_at"]) <= start + timedelta(days=days) for i in items
    )


@pytest.mark.parametrize(
    ("agency", "tasks"),
    [
        ("so-ke-hoach-dau-tu", {"nv05"}),  # named in task 5 only
        ("ubnd-huyen", {"nv04", "nv05", "nv06"}),
        ("lhh-khkt", {"nv01", "nv02", "nv04", "nv09", "nv10", "nv11"}),  # not in task 6
        ("co-so-giao-duc", {"nv02", "nv10"}),
    ],
)
def test_upcoming_agency_filter(
    capsys: pytest.CaptureFixture[str], agency: str, tasks: set
) -> None:
    """--agency keeps the reminders sent to that agency or on its behalf (as named in the appendix)."""
    code, out, _ = main(
        capsys, "upcoming", "--json", "--now", NOW, "--days", "400", "--agency", agency
    )
    assert code == 0
    items = json.loads(out)
    assert {i["task"] for i in items} == tasks
    assert all(agency in (i["agency"], i["named_as"]) for i in items)


# -- explain ---------------------------------------------------------------------------------------


def test_explain_9_reads_every_two_years(capsys: pytest.CaptureFixture[str]) -> None:
    """`explain 9` shows how "02 năm/lần" was read and its 2027 deadlines, none in 2028."""
    code, out, _ = main(capsys, "explain", "9", "--now", NOW)
    assert code == 0
    assert "timing: “02 năm/lần” → every 2 years (2025, 2027, …)" in out
    assert "2027 / phat-dong" in out and "deadline Wed 31/03/2027" in out
    assert "2027 / tong-ket" in out and "deadline Tue 30/11/2027" in out
    assert "2028 /" not in out and "2026 /" not in out
    assert "[ASSUMED date: confirm in plans/ke-hoach.toml]" in out
    assert "chủ trì reminders: D-30 01/03 08:00" in out


@pytest.mark.parametrize(
    ("edit", "lines"),
    [
        (
            'due = "06/02"',  # Sat 06/02/2027, in Tết (04–10/02/2027)
            [
                "deadline Thu 11/02/2027 (rule gives Sat 06/02/2027)",
                "why: Sat 06/02/2027 is a day off (Thứ Bảy, Tết Nguyên Đán) → next working day Thu 11/02/2027",
                "why: Wed 10/02/2027 is also a day off (Mùng năm Tết Nguyên Đán)",
            ],
        ),
        (
            'due = "13/03"',  # a Saturday
            [
                "deadline Mon 15/03/2027 (rule gives Sat 13/03/2027)",
                "why: Sat 13/03/2027 is a day off (Thứ Bảy) → next working day Mon 15/03/2027",
            ],
        ),
        (
            'due = "06/02"\ndeadline_on_day_off = "previous"',
            [
                "deadline Wed 03/02/2027 (rule gives Sat 06/02/2027)",
                "→ previous working day Wed 03/02/2027",
            ],
        ),
    ],
    ids=["tet", "saturday", "previous"],
)
def test_explain_gives_a_reason_when_a_deadline_moves(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, edit: str, lines: list[str]
) -> None:
    """A deadline on a Saturday or on Tết is moved, and `explain` says where and why."""
    config = edited_config(
        tmp_path,
        (
            'name = "Ban hành kế hoạch đào tạo, bồi dưỡng của năm"\ndue = "31/03"',
            f'name = "Ban hành kế hoạch đào tạo, bồi dưỡng của năm"\n{edit}',
        ),
    )
    code, out, _ = main(capsys, "explain", "1", "--now", NOW, config=config)
    assert code == 0
    for line in lines:
        assert line in out


@pytest.mark.parametrize(
    ("task", "expected"),
    [
        (
            "3",
            "none — waiting for the event: set trigger_date in plans/ke-hoach.toml when it happens",
        ),
        ("nv07", "none — waiting for the assignment: add dates = [...] to its milestones"),
    ],
)
def test_explain_waiting_tasks(
    capsys: pytest.CaptureFixture[str], task: str, expected: str
) -> None:
    """A task waiting for central guidance or for an assignment says so instead of listing deadlines."""
    code, out, _ = main(capsys, "explain", task, "--now", NOW)
    assert code == 0
    assert expected in out


def test_explain_successors_and_already_reached(capsys: pytest.CaptureFixture[str]) -> None:
    """`explain 5` shows the successor and does not call Sở Tài chính unreachable when the lead already reaches it."""
    code, out, _ = main(capsys, "explain", "5", "--now", NOW)
    assert code == 0
    assert "chủ trì: Sở Kế hoạch và Đầu tư (nay là Sở Tài chính)" in out
    assert "via Sở Kế hoạch và Đầu tư → Sở Tài chính" in out
    assert "phối hợp: Sở Tài chính  — already reached above" in out
    assert "phối hợp: các tổ chức có liên quan  — reaches nobody (no contacts)" in out


# -- exit codes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("explain", "99"), 65, "reminder explain: no task '99' in"),
        (("explain", "nv12", "--now", NOW), 65, "reminder explain: no task 'nv12' in"),
        (("upcoming", "--now", "yesterday"), 64, "argument --now: expected an ISO 8601 instant"),
        (("upcoming", "--now", NOW, "--days", "0"), 64, "argument --days: expected a number ≥ 1"),
        (("upcoming", "--now", NOW, "--agency", "so-xyz"), 65, "no agency or group 'so-xyz'"),
    ],
)
def test_usage_errors_exit_64_without_traceback(
    args: tuple[str, ...], code: int, message: str
) -> None:
    """Bad usage exits 64 (an unknown name 65) with a one-line error, never a traceback."""
    result = run_cli(*args)
    assert result.returncode == code
    assert result.stdout == ""
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if not line.startswith(("usage:", " "))]
    assert len(errors) == 1, result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("check",),
        ("upcoming", "--now", NOW),
        ("upcoming", "--now", NOW, "--json"),
        ("explain", "9", "--now", NOW),
        ("explain", "nv03"),
    ],
)
def test_commands_exit_0(args: tuple[str, ...]) -> None:
    """check, upcoming and explain succeed (exit 0) on the shipped config."""
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    assert result.stdout


# -- issue 11 item 11: explain and upcoming say what the daemon does -------------------------


def test_explain_lists_no_support_rungs_without_supporting_agencies(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A task with no phối hợp agency: `explain` lists only chủ trì rungs, as `upcoming` plans."""
    config = edited_config(
        tmp_path,
        (
            'support = ["co-quan-dia-phuong", "dao-tao-trong-ngoai-nuoc"]',
            "support = []",
        ),
    )
    code, out, _ = main(capsys, "explain", "2", "--now", NOW, config=config)
    assert code == 0
    assert "chủ trì reminders: D-30" in out
    assert "phối hợp" not in out
    code, out, _ = main(capsys, "upcoming", "--now", NOW, "--days", "400", "--json", config=config)
    assert not [r for r in json.loads(out) if r["task"] == "nv02" and r["role"] == "support"]


@pytest.mark.parametrize(
    "now", ["2026-11-26T02:00:00Z", "2026-11-26T09:00:00+07:00", "2026-11-26T09:00:00"]
)
def test_upcoming_header_is_in_the_business_zone(
    capsys: pytest.CaptureFixture[str], now: str
) -> None:
    """Whatever the form of --now, the header reads in Asia/Ho_Chi_Minh, like the rows."""
    code, out, _ = main(capsys, "upcoming", "--now", now, "--days", "5")
    assert code == 0
    head = out.splitlines()[0]
    assert head.startswith(
        "Reminders from 26/11/2026 09:00 to 01/12/2026 09:00 (Asia/Ho_Chi_Minh): "
    ), head


@pytest.mark.parametrize(
    ("now", "years", "window"),
    [
        (NOW, 2, "from Thu 26/11/2026 to Sun 26/11/2028"),
        (NOW, 1, "from Thu 26/11/2026 to Fri 26/11/2027"),
        ("2028-02-29T09:00:00+07:00", 1, "from Tue 29/02/2028 to Wed 28/02/2029"),
        ("2027-12-31T23:30:00+07:00", 2, "from Fri 31/12/2027 to Mon 31/12/2029"),
    ],
    ids=["two-years", "one-year", "29-feb", "year-end"],
)
def test_explain_years_ends_that_many_years_later(
    capsys: pytest.CaptureFixture[str], now: str, years: int, window: str
) -> None:
    """`explain --years N` covers N years to the day (29/02 → 28/02), not N × 366 days."""
    code, out, _ = main(capsys, "explain", "1", "--now", now, "--years", str(years))
    assert code == 0
    assert f"Deadlines {window}:" in out


def test_explain_waiting_trigger_shows_the_offsets(capsys: pytest.CaptureFixture[str]) -> None:
    """`explain 3` (no trigger_date yet) shows its deadlines fall 30 and 90 days after the trigger."""
    code, out, _ = main(capsys, "explain", "3", "--now", NOW)
    assert code == 0
    assert "ke-hoach: 30 days after the trigger date" in out
    assert "bao-cao: 90 days after the trigger date" in out
    # 26/11 + 30 = Sat 26/12 → Mon 28/12; + 90 = Wed 24/02/2027
    assert (
        "e.g. trigger_date = 2026-11-26 gives: ke-hoach Mon 28/12/2026, bao-cao Wed 24/02/2027"
        in out
    )


def test_explain_marks_an_assumed_anchor_year(capsys: pytest.CaptureFixture[str]) -> None:
    """Task 9's anchor_year is `assumed = true`: the timing line says so; task 2's is not marked."""
    _, out, _ = main(capsys, "explain", "9", "--now", NOW)
    assert (
        "→ every 2 years (2025, 2027, …)  [ASSUMED timing: confirm in plans/ke-hoach.toml]" in out
    )
    _, out, _ = main(capsys, "explain", "2", "--now", NOW)
    assert "ASSUMED timing" not in out
