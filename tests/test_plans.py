"""Plan files (issue 20): plans/<id>.toml beside an office-wide config.toml, tasks named
<plan id>/<number> as printed in their appendix, and the errors a plan file can hold."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from helpers import INLINE_CONFIG

from reminder.cli import main
from reminder.config import ConfigError, load
from reminder.exitcodes import EX_CONFIG, EX_DATAERR, EX_USAGE
from reminder.model import AmbiguousTask, number_key

SHIPPED = Path(__file__).resolve().parents[1] / "config.toml"
NOW = "2026-11-02T09:00:00+07:00"


def office_text() -> str:
    """The shipped config.toml without its inline [plan] and [[tasks]]: the office part."""
    text = SHIPPED.read_text(encoding="utf-8")
    text = re.sub(r"(?ms)^\[plan\]\n.*?(?=^# --- Calendar)", "", text, count=1)
    if "\n[plan]\n" in text:  # the seed has moved out already: nothing inline
        raise AssertionError("[plan] still inline")
    cut = text.find("\n[[tasks]]")
    return text if cut < 0 else text[:cut] + "\n"


def plan_text(
    pid: str, numbers: tuple[str, ...] = ("1", "2.1", "3a"), lead: str = "so-noi-vu"
) -> str:
    """A plan file: [plan] and one yearly task per number."""
    head = (
        f'[plan]\nid = "{pid}"\ntitle = "Kế hoạch {pid}"\n'
        'issuer = "Ủy ban nhân dân tỉnh An Giang"\nnumber = "45/KH-UBND"\n'
        'period = "2026–2030"\n'
    )
    tasks = "".join(
        f'\n[[tasks]]\nnumber = "{n}"\ntitle = "Nhiệm vụ {n} của {pid}"\ntiming = "Hằng năm"\n'
        f'lead = "{lead}"\n\n[[tasks.milestones]]\nid = "bao-cao"\nname = "Báo cáo"\n'
        'due = "15/12"\n'
        for n in numbers
    )
    return head + tasks


def office(tmp_path: Path, *plans: tuple[str, str], extra: str = "") -> Path:
    """config.toml (office only, `extra` appended) and plans/<name> files in tmp_path."""
    cfg = tmp_path / "config.toml"
    cfg.write_text(office_text() + extra, encoding="utf-8")
    folder = tmp_path / "plans"
    folder.mkdir(exist_ok=True)
    for name, text in plans:
        (folder / name).write_text(text, encoding="utf-8")
    return cfg


def check(capsys: pytest.CaptureFixture[str], cfg: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--config", str(cfg), *(args or ("check",))])
    out, err = capsys.readouterr()
    return code, out, err


def test_plan_file_tasks_are_named_plan_slash_number(tmp_path: Path) -> None:
    """A plan file's tasks keep the appendix's numbers ("1", "2.1", "3a") and are named <plan>/<number>."""
    settings = load(office(tmp_path, ("kh-a.toml", plan_text("kh-a"))))
    cat = settings.catalog
    assert [t.name for t in cat.tasks] == ["kh-a/1", "kh-a/2.1", "kh-a/3a"]
    assert [t.id for t in cat.tasks] == ["kh-a/1", "kh-a/2.1", "kh-a/3a"]
    assert cat.task("kh-a/2.1").number == "2.1"
    assert cat.task("3a").name == "kh-a/3a"  # one plan loaded: the bare number works
    plan = cat.plans["kh-a"]
    assert (plan.number, plan.period, plan.source) == (
        "45/KH-UBND",
        (2026, 2030),
        tmp_path / "plans" / "kh-a.toml",
    )


def test_bare_number_in_two_plans_is_ambiguous(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bare number two plans have is a usage error (64) listing the candidates; the full name works."""
    cfg = office(tmp_path, ("kh-a.toml", plan_text("kh-a")), ("kh-b.toml", plan_text("kh-b")))
    with pytest.raises(AmbiguousTask) as info:
        load(cfg).catalog.task("1")
    assert info.value.candidates == ("kh-a/1", "kh-b/1")
    code, _, err = check(capsys, cfg, "explain", "1", "--now", NOW)
    assert code == EX_USAGE
    assert "task '1' is ambiguous: 2 plans have it; say which: kh-a/1, kh-b/1" in err
    code, out, _ = check(capsys, cfg, "explain", "kh-b/1", "--now", NOW)
    assert code == 0 and "Task kh-b/1 (kh-b/1): Nhiệm vụ 1 của kh-b" in out


def test_two_plan_files_with_the_same_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two plan files with one id: exit 78 naming the second file, the line and plan.id."""
    cfg = office(tmp_path, ("a.toml", plan_text("kh-a")), ("b.toml", plan_text("kh-a")))
    code, out, err = check(capsys, cfg)
    assert code == EX_CONFIG and out == ""
    assert (
        f"error: {tmp_path / 'plans' / 'b.toml'}:2: plan.id: duplicate plan id 'kh-a' "
        f"(also in {tmp_path / 'plans' / 'a.toml'})"
    ) in err


def test_task_naming_an_unknown_agency(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A plan file's task naming an agency config.toml lacks: exit 78 with file, line, key."""
    cfg = office(tmp_path, ("kh-a.toml", plan_text("kh-a", ("1", "2.1"), lead="so-noivu")))
    code, _, err = check(capsys, cfg)
    assert code == EX_CONFIG
    assert (
        f"error: {tmp_path / 'plans' / 'kh-a.toml'}:12: tasks[1].lead: unknown agency or group "
        "id 'so-noivu' (expected an id from [[agencies]] or [[groups]]; did you mean 'so-noi-vu'?)"
    ) in err
    assert f"{tmp_path / 'plans' / 'kh-a.toml'}:23: tasks[2.1].lead:" in err


def test_plan_file_that_does_not_parse(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A plan file that is not TOML: exit 78 with its name and the line of the mistake."""
    broken = plan_text("kh-a").replace('number = "2.1"', "number 2.1")
    cfg = office(tmp_path, ("kh-a.toml", broken), ("kh-b.toml", plan_text("kh-b")))
    code, _, err = check(capsys, cfg)
    assert code == EX_CONFIG
    line = broken.splitlines().index("number 2.1") + 1
    assert f"error: {tmp_path / 'plans' / 'kh-a.toml'}:{line}: TOML syntax error:" in err


@pytest.mark.parametrize(
    ("edit", "key", "text"),
    [
        (('number = "2.1"', "number = 2"), "tasks[#2].number", "Input should be a valid string"),
        (('number = "2.1"', 'number = "2/1"'), "tasks[2/1].number", 'no spaces or "/"'),
        (('number = "3a"', 'number = "1"'), "tasks[1].number", "duplicate task number '1'"),
        (('id = "kh-a"\n', ""), "plan", 'required key "id" is missing'),
        (('period = "2026–2030"', 'period = "2030-2026"'), "plan.period", "ends (2026) before"),
        (('period = "2026–2030"', 'period = "năm 2026"'), "plan.period", 'e.g. "2026–2030"'),
        (
            ('timing = "Hằng năm"', 'timing = "Hằng năm"\nid = "nv01"'),
            "tasks[nv01].id",
            "unknown key",
        ),
    ],
)
def test_plan_file_keys_are_checked(
    tmp_path: Path, edit: tuple[str, str], key: str, text: str
) -> None:
    """Each key of a plan file is checked; the problem names the plan file and the key."""
    cfg = office(tmp_path, ("kh-a.toml", plan_text("kh-a").replace(*edit, 1)))
    with pytest.raises(ConfigError) as info:
        load(cfg)
    found = [p for p in info.value.problems if p.key == key]
    assert found, [str(p) for p in info.value.problems]
    assert found[0].file == tmp_path / "plans" / "kh-a.toml"
    assert text in found[0].message


def test_former_id_names_one_task(tmp_path: Path) -> None:
    """A former id (the task's id in config.toml before plans/) is unique and resolves to the task."""
    a = plan_text("kh-a", ("1",)).replace(
        'timing = "Hằng năm"', 'timing = "Hằng năm"\nformer_id = "nv01"'
    )
    settings = load(office(tmp_path, ("kh-a.toml", a)))
    assert settings.catalog.task("nv01").name == "kh-a/1"
    assert settings.catalog.task("nv01").former_id == "nv01"
    (tmp_path / "plans" / "kh-b.toml").write_text(a.replace("kh-a", "kh-b"), encoding="utf-8")
    with pytest.raises(
        ConfigError, match=r"kh-b.toml:\d+: tasks\[1\].former_id: former id 'nv01' is also"
    ):
        load(tmp_path / "config.toml")


def test_inline_plan_still_works_and_check_says_how_to_move_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A config with [plan] and [[tasks]] inline is one plan; `check` says how to move it into plans/."""
    cfg = tmp_path / "config.toml"
    cfg.write_text(INLINE_CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    settings = load(cfg)
    assert settings.catalog.plan.source is None
    code, out, _ = check(capsys, cfg)
    assert code == 0
    assert "'ke-hoach' inline in config.toml: move its [plan]" in out
    assert settings.catalog.task("nv09") is settings.catalog.task("9")


def test_inline_plan_beside_plan_files(tmp_path: Path) -> None:
    """An inline plan and plan files load together; the inline tasks keep their ids."""
    cfg = tmp_path / "config.toml"
    cfg.write_text(INLINE_CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "kh-a.toml").write_text(plan_text("kh-a"), encoding="utf-8")
    cat = load(cfg).catalog
    assert list(cat.plans) == ["ke-hoach", "kh-a"]
    assert cat.task("ke-hoach/9").id == "nv09"
    assert cat.task("kh-a/1").plan == "kh-a"
    with pytest.raises(AmbiguousTask):
        cat.task("1")


def test_plans_folder_is_configurable_and_archive_is_not_read(tmp_path: Path) -> None:
    """[plans] dir names the folder; its archive/ sub-folder and hidden files are not read."""
    cfg = office(tmp_path, extra='\n[plans]\ndir = "ke-hoach"\n')
    folder = tmp_path / "ke-hoach"
    (folder / "archive").mkdir(parents=True)
    (folder / "kh-a.toml").write_text(plan_text("kh-a"), encoding="utf-8")
    (folder / "archive" / "kh-old.toml").write_text(plan_text("kh-old"), encoding="utf-8")
    (folder / ".kh-x.toml").write_text("not toml at all [", encoding="utf-8")
    assert list(load(cfg).catalog.plans) == ["kh-a"]
    (folder / "kh-a.toml").unlink()
    (folder / ".kh-x.toml").unlink()
    (folder / "archive").rename(tmp_path / "elsewhere")
    with pytest.raises(ConfigError, match="no plan: put plan files in"):
        load(cfg)
    folder.rmdir()
    with pytest.raises(ConfigError, match=r"plans.dir: no such folder"):
        load(cfg)


@pytest.mark.parametrize(
    ("numbers", "ordered"),
    [
        (["10", "2", "1"], ["1", "2", "10"]),
        (["2a", "2.1", "2", "3"], ["2", "2.1", "2a", "3"]),
        (["II.1", "I.2", "1"], ["1", "I.2", "II.1"]),
    ],
)
def test_numbers_sort_as_the_appendix_does(numbers: list[str], ordered: list[str]) -> None:
    """Appendix numbers sort by their parts as numbers: 2 < 2.1 < 2a < 10."""
    assert sorted(numbers, key=number_key) == ordered


def test_plans_lists_each_plan_with_its_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`reminder plans` gives each plan's period, task count and deadlines on time, late, overdue."""
    cfg = office(
        tmp_path, ("kh-a.toml", plan_text("kh-a")), ("kh-b.toml", plan_text("kh-b", ("1",)))
    )
    late = (
        "done",
        "kh-a/1",
        "2026",
        "bao-cao",
        "--on",
        "2026-12-20",
        "--now",
        "2026-12-21T09:00:00+07:00",
    )
    ok = ("done", "kh-a/2.1", "2026", "--on", "2026-12-01", "--now", "2026-12-21T09:00:00+07:00")
    assert check(capsys, cfg, *late)[0] == 0
    assert check(capsys, cfg, *ok)[0] == 0
    code, out, _ = check(capsys, cfg, "plans", "--json", "--now", "2027-01-10T09:00:00+07:00")
    assert code == 0
    got = {
        p["id"]: (p["period"], p["tasks"], p["on_time"], p["late"], p["overdue"])
        for p in json.loads(out)
    }
    assert got == {"kh-a": ([2026, 2030], 3, 1, 1, 1), "kh-b": ([2026, 2030], 1, 0, 0, 1)}
    code, out, _ = check(capsys, cfg, "plans", "--now", "2027-01-10T09:00:00+07:00")
    assert code == 0 and "kh-a                 2026–2030      3       1     1       1" in out
    code, out, _ = check(capsys, cfg, "done", "--list")
    assert "done  kh-a/1 2026 bao-cao  on 20/12/2026" in out and "done  kh-a/2.1 2026 *" in out


def test_archive_stops_a_plan_and_keeps_its_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`plans --archive ID` moves the file into plans/archive/: no more reminders; unknown id exits 65."""
    cfg = office(tmp_path, ("kh-a.toml", plan_text("kh-a")), ("kh-b.toml", plan_text("kh-b")))
    code, out, _ = check(capsys, cfg, "plans", "--archive", "kh-b")
    assert code == 0 and "plan kh-b archived" in out
    assert (tmp_path / "plans" / "archive" / "kh-b.toml").exists()
    assert list(load(cfg).catalog.plans) == ["kh-a"]
    code, _, err = check(capsys, cfg, "plans", "--archive", "kh-b")
    assert code == EX_DATAERR and "no plan 'kh-b'" in err


def test_nothing_is_reminded_after_the_period_nor_late_before_signing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A plan's tasks stop after its period; deadlines before its signing date are never late."""
    ended = plan_text("kh-a", ("1",)).replace('period = "2026–2030"', 'period = "2026"')
    unsigned = plan_text("kh-b", ("1",)).replace("period =", "signed_on = 2027-02-01\nperiod =")
    cfg = office(tmp_path, ("kh-a.toml", ended), ("kh-b.toml", unsigned))
    code, out, _ = check(
        capsys, cfg, "upcoming", "--json", "--days", "60", "--now", "2027-11-30T09:00:00+07:00"
    )
    assert code == 0
    assert {r["task"] for r in json.loads(out) if r["kind"] == "reminder"} == {"kh-b/1"}
    code, out, _ = check(capsys, cfg, "plans", "--json", "--now", "2027-01-10T09:00:00+07:00")
    got = {p["id"]: p["overdue"] for p in json.loads(out)}
    assert got == {"kh-a": 1, "kh-b": 0}


def test_move_inline_writes_the_plan_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`plans --move-inline` moves config.toml's [plan] and [[tasks]] into plans/<id>.toml, keeping the original beside it."""
    cfg = tmp_path / "config.toml"
    inline = INLINE_CONFIG.read_text(encoding="utf-8")
    cfg.write_text(inline, encoding="utf-8")
    code, out, _ = check(capsys, cfg, "plans", "--move-inline")
    assert code == 0 and "plan ke-hoach moved into" in out
    moved = load(cfg).catalog
    assert moved.plan.source == tmp_path / "plans" / "ke-hoach.toml"
    assert moved.task("ke-hoach/1").id == "nv01"
    assert (tmp_path / "config.toml.before-plans").read_text(encoding="utf-8") == inline
    code, _, err = check(capsys, cfg, "plans", "--move-inline")
    assert code == EX_DATAERR and "no inline [plan]" in err


def test_move_inline_keeps_each_comment_with_the_table_it_describes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A comment block goes with the table below it: the plan's and the tasks' comments into the plan file, the calendar's and the office's stay in config.toml; no double blank lines."""
    cfg = tmp_path / "config.toml"
    cfg.write_text(INLINE_CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    assert check(capsys, cfg, "plans", "--move-inline")[0] == 0
    office = cfg.read_text(encoding="utf-8")
    plan = (tmp_path / "plans" / "ke-hoach.toml").read_text(encoding="utf-8")
    for text in (office, plan):
        assert "\n\n\n" not in text and text.endswith("\n") and not text.endswith("\n\n")
    assert re.search(r"(?m)^# --- Calendar -+\n(# .*\n)+\[calendar\]\n", office)
    assert re.search(r"(?m)^#  The office that issues.*\n(#.*\n)+\[office\]\n", office)
    assert office.startswith(INLINE_CONFIG.read_text(encoding="utf-8")[:1200])  # banner stays
    assert "plan the appendix belongs to" not in office and "Tasks — PHỤ LỤC" not in office
    assert re.search(r"(?m)^# --- The plan the appendix belongs to -+\n(# .*\n)+\[plan\]\n", plan)
    assert "# --- Calendar" not in plan and "The office that issues" not in plan
    assert plan.index("Tasks — PHỤ LỤC") < plan.index("[[tasks]]") < plan.index("45/KH-UBND")
    task1 = plan[plan.index('number = "1"') : plan.index('number = "2"')]
    assert "ASSUMED: its yearly training" in task1 and 'former_id = "nv01"' in task1
    assert '\n\n[[tasks.milestones]]\nid = "bao-cao"' in task1
    # every line of the original is in one of the two files, once (ids and numbers rewritten)
    kept = [line for line in INLINE_CONFIG.read_text(encoding="utf-8").splitlines() if line]
    both = office.splitlines() + plan.splitlines()
    missing = [
        line for line in kept if line not in both and not re.match(r"(id|number) = \S+$", line)
    ]
    assert missing == []


@pytest.mark.parametrize("channel", ["email", "telegram"])
def test_one_digest_across_plans_grouped_by_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], channel: str
) -> None:
    """Two plans' deadlines for one agency on one day: one message, each plan's tasks under its own heading."""
    b = plan_text("kh-b", ("1",)).replace('number = "45/KH-UBND"', 'number = "12/KH-UBND"')
    cfg = office(tmp_path, ("kh-a.toml", plan_text("kh-a", ("1", "2.1"))), ("kh-b.toml", b))
    code, out, err = check(
        capsys, cfg, "preview", "kh-b/1", "--channel", channel, "--now", "2026-11-20T09:00:00+07:00"
    )
    assert code == 0, err
    assert "one digest of 3 reminders, tasks kh-a/1, kh-a/2.1, kh-b/1" in out
    if channel == "email":
        assert "3 nhiệm vụ sau thuộc 2 kế hoạch dưới đây." in out
    a_head = "Nhiệm vụ theo Kế hoạch số 45/KH-UBND của Ủy ban nhân dân tỉnh An Giang về kh-a:"
    b_head = "Nhiệm vụ theo Kế hoạch số 12/KH-UBND của Ủy ban nhân dân tỉnh An Giang về kh-b:"
    assert a_head in out and b_head in out
    assert out.index(a_head) < out.index("Nhiệm vụ 2.1 của kh-a") < out.index(b_head)
    assert out.index(b_head) < out.index("Nhiệm vụ 1 của kh-b")


def test_an_edited_plan_file_is_checked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plan file kept in the cache after it checked is checked again once its bytes or the agencies change."""
    monkeypatch.setenv("REMINDER_CACHE_DIR", str(tmp_path / "cache"))
    cfg = office(tmp_path, ("kh-a.toml", plan_text("kh-a")))
    assert [t.name for t in load(cfg).catalog.tasks][:1] == ["kh-a/1"]
    assert list((tmp_path / "cache" / "plans").glob("*.pickle"))
    file = tmp_path / "plans" / "kh-a.toml"
    file.write_text(plan_text("kh-a", lead="so-khong-co"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"kh-a.toml:\d+: tasks\[1\].lead: unknown agency"):
        load(cfg)
    file.write_text(plan_text("kh-a"), encoding="utf-8")
    assert load(cfg).catalog.task("kh-a/1").lead == "so-noi-vu"  # from the cache again
    text = cfg.read_text(encoding="utf-8")
    cfg.write_text(text.replace('id = "so-noi-vu"', 'id = "so-noi-vu-moi"', 1), encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown agency or group id 'so-noi-vu'"):
        load(cfg)


def test_the_office_report_says_who_is_late_in_which_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The report (JSON and table) counts per plan and names the agencies late in each; --plan narrows it to one."""
    b = plan_text("kh-b", ("1",), lead="so-tai-chinh")
    cfg = office(tmp_path, ("kh-a.toml", plan_text("kh-a", ("1", "2.1"))), ("kh-b.toml", b))
    done = ("done", "kh-a/2.1", "2026", "--on", "2026-12-01", "--now", "2026-12-21T09:00:00+07:00")
    assert check(capsys, cfg, *done)[0] == 0
    when = ("--year", "2026", "--now", "2027-01-10T09:00:00+07:00")
    code, out, _ = check(capsys, cfg, "report", "--format", "json", *when)
    assert code == 0
    doc = json.loads(out)
    plans = {p["plan"]: (p["done_on_time"], p["overdue"], p["late_agencies"]) for p in doc["plans"]}
    assert plans == {"kh-a": (1, 1, {"so-noi-vu": 1}), "kh-b": (0, 1, {"so-tai-chinh": 1})}
    assert doc["late_in_plans"] == {"so-noi-vu": ["kh-a"], "so-tai-chinh": ["kh-b"]}
    code, out, _ = check(capsys, cfg, "report", *when)
    assert "  kh-b: Kế hoạch kh-b — quá hạn 1\n    chậm, quá hạn: Sở Tài chính (1)" in out
    assert "NV kh-a/1 " in out
    code, out, _ = check(capsys, cfg, "report", "--format", "json", "--plan", "kh-b", *when)
    assert [i["task"] for i in json.loads(out)["items"]] == ["kh-b/1"]


def test_the_weekly_summary_names_tasks_with_their_plan(tmp_path: Path) -> None:
    """With several plans the weekly summary (and escalations) name each task <plan>/<number>."""
    from datetime import datetime, time

    from reminder.followup import summaries, summary_context
    from reminder.model import VN_TZ, Summary
    from reminder.render import Renderer
    from reminder.workdays import WorkCalendar

    cfg = office(
        tmp_path, ("kh-a.toml", plan_text("kh-a", ("1",))), ("kh-b.toml", plan_text("kh-b", ("1",)))
    )
    catalog = load(cfg).catalog
    cal = WorkCalendar(catalog.calendar)
    monday = datetime(2026, 12, 21, 8, 0, tzinfo=VN_TZ)
    rule = Summary(0, time(8), emails=("vanphong@tinh.example",))
    weekly = summaries(catalog, rule, monday, monday, channels=("email",), cal=cal)
    context = summary_context(catalog, rule, {}, monday, cal)
    text = Renderer(catalog).render_followup(weekly, context, today=monday.date()).text
    assert "Nhiệm vụ số kh-a/1 (năm 2026)" in text and "Nhiệm vụ số kh-b/1 (năm 2026)" in text


def test_hints_name_the_file_the_task_lives_in(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`check`'s "set trigger_date in …" and `explain`'s "[ASSUMED …: confirm in …]" name the task's own file: plans/ke-hoach.toml, or config.toml for a plan inline."""
    moved = tmp_path / "moved"
    moved.mkdir()
    cfg = moved / "config.toml"
    cfg.write_text(INLINE_CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    inline = tmp_path / "inline.toml"
    inline.write_text(INLINE_CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    assert check(capsys, cfg, "plans", "--move-inline")[0] == 0
    for path, where in ((cfg, "plans/ke-hoach.toml"), (inline, "config.toml")):
        code, out, _ = check(capsys, path, "check")
        assert code == 0
        assert f"set trigger_date in {where} when it happens" in out
        code, out, _ = check(capsys, path, "explain", "1", "--now", NOW)
        assert code == 0 and f"[ASSUMED date: confirm in {where}]" in out


def test_move_inline_that_would_not_read_back_moves_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A layout the line-wise move misreads (a multi-line note whose line looks like a table header): exit 78, one line, every file as it was."""
    cfg = tmp_path / "config.toml"
    text = INLINE_CONFIG.read_text(encoding="utf-8").replace(
        'timing = "Hằng năm"\n', 'timing = "Hằng năm"\nnote = """\n[office]\n"""\n', 1
    )
    cfg.write_text(text, encoding="utf-8")
    code, out, err = check(capsys, cfg, "plans", "--move-inline")
    assert (code, out) == (EX_CONFIG, "")
    assert "cannot move its plan line by line" in err and "nothing changed" in err
    assert cfg.read_text(encoding="utf-8") == text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]
