"""The report as .docx, .xlsx, HTML and JSON says the same thing, with the numbers right for
its date: the shipped plan as of 30/06/2027 (empty ledger), the office as of 07/12/2026 (a
record finished on time, one finished late and entered later, the rest as the plan says)."""

from __future__ import annotations

import json
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import docx
import openpyxl
import pytest
from helpers import copy_shipped
from inprocess import run_main

from reminder.model import number_key
from reminder.status import State

CLASSES = [s.value for s in State]


def run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`reminder --config CONFIG ARGS…` in this process (tests/inprocess.py); it must pass."""
    done = run_main(["--config", str(config), *args], cwd=config.parent)
    assert done.returncode == 0, done.stderr
    return done


class _Grids(HTMLParser):
    """The text of every cell of every `table.grid`."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.cell: list[str] | None = None
        self.inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and ("class", "grid") in attrs:
            self.tables.append([])
            self.inside = True
        elif tag == "tr" and self.inside:
            self.tables[-1].append([])
        elif tag in ("td", "th") and self.inside:
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.inside = False
        if tag in ("td", "th") and self.cell is not None:
            self.tables[-1][-1].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def matrices(
    folder: Path, config: Path, now: str, scope: list[str]
) -> dict[str, dict[str, list[int]]]:
    """{format: {agency name: [five counts, total]}} read back from each file."""
    common = ["report", "--now", now, *scope]
    for fmt in ("docx", "xlsx", "html", "json"):
        run(config, *common, "--format", fmt, "-o", str(folder / f"r.{fmt}"))
    found: dict[str, dict[str, list[int]]] = {}
    doc = json.loads((folder / "r.json").read_text(encoding="utf-8"))
    found["json"] = {
        r["name"]: [r[c] for c in CLASSES] + [r["total"]] for r in [*doc["agencies"], doc["total"]]
    }
    n = len(CLASSES)
    word = docx.Document(str(folder / "r.docx")).tables[1]
    found["docx"] = {
        row.cells[1].text: [int(c.text) for c in row.cells[2 : 3 + n]] for row in word.rows[1:]
    }
    grids = _Grids()
    grids.feed((folder / "r.html").read_text(encoding="utf-8"))
    found["html"] = {r[1]: [int(c) for c in r[2 : 3 + n]] for r in grids.tables[0][1:]}
    sheet = openpyxl.load_workbook(folder / "r.xlsx")["Theo cơ quan"]
    found["xlsx"] = {
        r[0].value: [c.value for c in r[2 : 3 + n]] for r in sheet.iter_rows(min_row=2)
    }
    return found


def overdue_lists(folder: Path) -> dict[str, list[tuple[str, int]]]:
    """{format: [(task number, days overdue)]} of the overdue list, in its order."""
    doc = json.loads((folder / "r.json").read_text(encoding="utf-8"))
    items = [i for i in doc["items"] if i["state"] == "overdue"]
    items.sort(key=lambda i: (-i["days"], number_key(i["number"]), i["occurrence"]))
    sheet = openpyxl.load_workbook(folder / "r.xlsx")["Quá hạn"]
    word = docx.Document(str(folder / "r.docx")).tables[2]
    grids = _Grids()
    grids.feed((folder / "r.html").read_text(encoding="utf-8"))

    def number(text: str) -> str:
        return text.removeprefix("Nhiệm vụ số ").split(" ", 1)[0]

    return {
        "json": [(str(i["number"]), i["days"]) for i in items],
        "xlsx": [(str(r[1].value), r[7].value) for r in sheet.iter_rows(min_row=2)],
        "docx": [(number(r.cells[1].text), int(r.cells[5].text)) for r in word.rows[1:]],
        "html": [(number(r[1]), int(r[5])) for r in grids.tables[1][1:]],
    }


@pytest.mark.parametrize(
    ("scope", "now", "records", "total", "overdue"),
    [
        (
            ["--plan", "ke-hoach"],  # the shipped plan
            "2027-06-30T17:00:00+07:00",
            [],
            # every 2027 deadline up to 30/06 (31/03 of tasks 1, 6, 9, 10) is 91 days
            # overdue; the 8 later ones are in progress; task 3 waits (2 milestones)
            [0, 0, 4, 8, 2, 14],
            [("1", 91), ("6", 91), ("9", 91), ("10", 91)],
        ),
        (
            [],  # the whole office
            "2026-12-07T09:00:00+07:00",
            [
                ["1", "2026", "bao-cao", "--on", "2026-11-20", "--now", "2026-11-20T10:00+07:00"],
                ["5", "2026", "--on", "2026-07-20", "--now", "2026-12-07T10:00+07:00"],
            ],
            # 31/03 (tasks 1, 6, 10): 251 days; task 10's 31/10 moved to 02/11: 35 days;
            # task 5 done 20/07, 5 days late, recorded after 09:00 today; task 1's report
            # done 20/11 on time; 15/12 (tasks 2, 4, 6, 11) in progress; task 3 waits
            [1, 1, 4, 4, 2, 12],
            [("1", 251), ("6", 251), ("10", 251), ("10", 35)],
        ),
    ],
    ids=["plan-2027-06-30", "office-today"],
)
def test_docx_xlsx_html_and_json_agree_and_are_right(
    tmp_path: Path,
    scope: list[str],
    now: str,
    records: list[list[str]],
    total: list[int],
    overdue: list[tuple[str, int]],
) -> None:
    """Each format's matrix and overdue list read back equal, and equal the hand count."""
    config = copy_shipped(tmp_path)
    for record in records:
        run(config, "done", *record)
    found = matrices(tmp_path, config, now, scope)
    assert found["docx"] == found["json"] == found["html"] == found["xlsx"]
    assert found["json"]["Tổng cộng"] == total
    lists = overdue_lists(tmp_path)
    assert lists["docx"] == lists["json"] == lists["html"] == lists["xlsx"] == overdue
