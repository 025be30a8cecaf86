"""`reminder import FILE --id PLAN` (issue 20): the appendix becomes plans/PLAN.toml, numbered
as printed, beside the other plans and never over them, its input or an existing file; the
same appendix imported twice is said."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import write_config

from reminder.cli import main
from reminder.config import load
from reminder.exitcodes import EX_CANTCREAT, EX_DATAERR

APPENDIX = Path(__file__).resolve().parent / "appendix" / "phu-luc-nhiem-vu.txt"


def run(capsys: pytest.CaptureFixture[str], config: Path, *args: str) -> tuple[int, str]:
    code = main(["--config", str(config), "import", *args])
    return code, capsys.readouterr().err


@pytest.fixture
def office(tmp_path: Path) -> Path:
    """The shipped config (the seed plan in plans/ke-hoach.toml) and a copy of its appendix."""
    config = write_config(tmp_path, email="outbox", telegram="outbox")
    (tmp_path / "phu-luc.txt").write_bytes(APPENDIX.read_bytes())
    return config


def test_the_seed_again_is_already_there(office: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Importing the seed's appendix under the seed's id says it is already there (not merely that its file exists) and writes nothing."""
    before = (office.parent / "plans" / "ke-hoach.toml").read_bytes()
    code, err = run(capsys, office, str(office.parent / "phu-luc.txt"), "--id", "ke-hoach")
    assert code == EX_CANTCREAT
    assert "this appendix is already there: plan ke-hoach" in err and "exists already" not in err
    assert (office.parent / "plans" / "ke-hoach.toml").read_bytes() == before
    assert [p.name for p in (office.parent / "plans").iterdir()] == ["ke-hoach.toml"]


def test_a_second_plan_numbered_as_its_appendix(
    office: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--id other writes plans/other.toml numbered 1–11 beside the seed; the config checks with it."""
    code, err = run(capsys, office, str(office.parent / "phu-luc.txt"), "--id", "kh-hai")
    assert code in (0, EX_DATAERR), err  # 65: points to review, listed atop the file
    assert "note: this appendix is already plan ke-hoach" in err
    written = office.parent / "plans" / "kh-hai.toml"
    assert f"{written}: OK — 11 tasks" in err
    catalog = load(office).catalog
    assert list(catalog.plans) == ["ke-hoach", "kh-hai"]
    mine = [t for t in catalog.tasks if t.plan == "kh-hai"]
    assert [t.name for t in mine] == [f"kh-hai/{n}" for n in range(1, 12)]
    assert catalog.plans["kh-hai"].source == written


def test_never_over_a_file_nor_its_input(office: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An existing file is replaced only with --force, its input never, other plans never touched."""
    source = office.parent / "phu-luc.txt"
    plans = office.parent / "plans"
    other = plans / "kh-khac.toml"
    other.write_text("# another plan, not to be touched\n", encoding="utf-8")
    target = plans / "kh-hai.toml"
    target.write_text("# older\n", encoding="utf-8")
    code, err = run(capsys, office, str(source), "--id", "kh-hai")
    assert code == EX_CANTCREAT and "exists already: nothing written (--force" in err
    assert target.read_text(encoding="utf-8") == "# older\n"
    code, err = run(capsys, office, str(source), "-o", str(source), "--force")
    assert code == EX_CANTCREAT and "is the appendix being imported" in err
    assert source.read_bytes() == APPENDIX.read_bytes()
    elsewhere = office.parent / "xem-lai" / "kh-hai.toml"
    code, err = run(capsys, office, str(source), "--id", "kh-hai", "-o", str(elsewhere))
    assert code in (0, EX_DATAERR), err
    assert elsewhere.read_text(encoding="utf-8").count("[[tasks]]") == 11
    assert target.read_text(encoding="utf-8") == "# older\n"
    assert other.read_text(encoding="utf-8") == "# another plan, not to be touched\n"
    code, err = run(capsys, office, str(source), "-o", str(elsewhere))
    assert code == EX_CANTCREAT


def test_a_bad_id_is_a_usage_error(office: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--id takes a plan id (a-z, 0-9, '-', '_'): anything else is refused before reading the file."""
    code, err = run(capsys, office, str(office.parent / "phu-luc.txt"), "--id", "KH 45/2026")
    assert code == 64 and "--id 'KH 45/2026': expected a plan id" in err


def test_a_relative_config_counts_the_new_plans_tasks(
    office: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--config config.toml (relative, so the plan files are named plans/…): the new plan's check line still counts its 11 tasks."""
    monkeypatch.chdir(office.parent)
    code, err = run(capsys, Path("config.toml"), "phu-luc.txt", "--id", "kh-hai")
    assert code in (0, EX_DATAERR), err
    assert "plans/kh-hai.toml: OK — 11 tasks" in err
