"""7. Import speed: `reminder import` of a synthetic appendix of N task rows, as a .docx, as
text shaped like the seed (a PDF's text: cells broken over lines, page numbers between
rows) and as laid-out text (`pdftotext -layout`'s shape). The rows cycle through the
shipped config's eleven tasks, with the agencies' names written out, so every row can be
checked: `correct` counts rows whose title, timing, lead and supporting ids came back.

Baseline (same run): opening the .docx and reading every cell's text with python-docx
alone — the floor for the .docx path; `import_docx_vs_read` is the import's time over it.
"""

from __future__ import annotations

import textwrap
import time
import tomllib
from pathlib import Path
from typing import Any

from bench.common import REPO, say, tmpdir

_WIDTHS = (6, 48, 22, 28, 44)  # laid-out columns, characters


def _rows(n: int) -> tuple[list[list[str]], list[dict[str, Any]]]:
    cfg = tomllib.loads((REPO / "config.toml").read_text(encoding="utf-8"))
    names = {e["id"]: e["name"] for e in [*cfg["agencies"], *cfg["groups"]]}
    plan = (REPO / "plans" / "ke-hoach.toml").read_text(encoding="utf-8")
    shipped = tomllib.loads(plan)["tasks"]  # the seed plan's tasks
    rows, expected = [], []
    for k in range(n):
        t = shipped[k % len(shipped)]
        support = ", ".join(names[s] for s in t["support"])
        rows.append([str(k + 1), t["title"], t["timing"], names[t["lead"]], support])
        expected.append(t)
    return rows, expected


def _docx(path: Path, rows: list[list[str]]) -> None:
    import docx

    document = docx.Document()
    table = document.add_table(rows=1 + len(rows), cols=5)
    header = [
        "Stt",
        "Nội dung nhiệm vụ",
        "Thời gian thực hiện",
        "Đơn vị chủ trì",
        "Đơn vị phối hợp",
    ]
    for r, values in enumerate([header, *rows]):
        cells = table.rows[r].cells
        for c, value in enumerate(values):
            cells[c].text = value
    document.save(str(path))


def _seed_shaped(rows: list[list[str]]) -> str:
    out = ["PHỤ LỤC NHIỆM VỤ", "", "Stt Nội dung nhiệm vụ", "Thời gian", "thực hiện", "",
           "Đơn vị chủ", "trì", "", "Đơn vị phối hợp", ""]  # fmt: skip
    for k, (number, title, timing, lead, support) in enumerate(rows):
        if k and k % 5 == 0:
            out += ["", "", str(k // 5 + 1), " ", ""]  # a page number between rows
        out += [number, "", *textwrap.wrap(title, 32), "", *textwrap.wrap(timing, 10), ""]
        out += [*textwrap.wrap(lead, 12), "", *textwrap.wrap(support, 20), ""]
    return "\n".join(out) + "\n"


def _laid_out(rows: list[list[str]]) -> str:
    header = [
        "Stt",
        "Nội dung nhiệm vụ",
        "Thời gian thực hiện",
        "Đơn vị chủ trì",
        "Đơn vị phối hợp",
    ]
    out = ["".join(h.ljust(w) for h, w in zip(header, _WIDTHS, strict=True)), ""]
    for row in rows:
        cells = [textwrap.wrap(v, w - 2) for v, w in zip(row, _WIDTHS, strict=True)]
        for i in range(max(len(c) for c in cells)):
            line = "".join(
                (c[i] if i < len(c) else "").ljust(w) for c, w in zip(cells, _WIDTHS, strict=True)
            )
            out.append(line.rstrip())
        out.append("")
    return "\n".join(out) + "\n"


def _correct(outcome: Any, expected: list[dict[str, Any]]) -> int:
    good = 0
    for got, want in zip(outcome.tasks, expected, strict=False):
        lead = got.lead.id if got.lead else None
        if (got.title, got.timing, lead, [r.id for r in got.support]) == (
            want["title"],
            want["timing"],
            want["lead"],
            want["support"],
        ):
            good += 1
    return good


def _read_docx_only(path: Path) -> int:
    import docx

    count = 0
    for table in docx.Document(str(path)).tables:
        for row in table.rows:
            count += sum(len(c.text) for c in row.cells)
    return count


def run(quick: bool) -> dict[str, Any]:
    from reminder.importer import import_appendix, read_wording

    sizes = [200] if quick else [500, 2000]
    say(f"\n== 7. Import: appendices of {'/'.join(map(str, sizes))} task rows ==")
    config_text = (REPO / "config.toml").read_text(encoding="utf-8")
    wording = read_wording(REPO / "templates" / "import.toml")
    results: dict[str, Any] = {"sizes": []}
    with tmpdir("import") as tmp:
        for n in sizes:
            rows, expected = _rows(n)
            files = {"docx": tmp / f"a{n}.docx", "text": tmp / f"a{n}.txt"}
            files["layout"] = tmp / f"a{n}-layout.txt"
            _docx(files["docx"], rows)
            files["text"].write_text(_seed_shaped(rows), encoding="utf-8")
            files["layout"].write_text(_laid_out(rows), encoding="utf-8")
            t0 = time.perf_counter()
            _read_docx_only(files["docx"])
            baseline = time.perf_counter() - t0
            entry: dict[str, Any] = {"rows": n, "docx_read_s": round(baseline, 3)}
            for kind, path in files.items():
                t0 = time.perf_counter()
                result = import_appendix(
                    path,
                    wanted=None,
                    config_text=config_text,
                    config_name="config.toml",
                    year=2026,
                    wording=wording,
                )
                elapsed = time.perf_counter() - t0
                good = _correct(result.outcome, expected)
                entry[f"{kind}_s"] = round(elapsed, 3)
                entry[f"{kind}_correct"] = good
                say(
                    f"  {n:5d} rows {kind:6s}: {elapsed:6.2f} s ({n / elapsed:6.0f} rows/s), "
                    f"{good}/{n} rows read back exactly"
                )
            entry["import_docx_vs_read"] = round(entry["docx_s"] / baseline, 1)
            say(
                f"  {n:5d} rows: python-docx alone {baseline:.2f} s; import/read = {entry['import_docx_vs_read']}×"
            )
            results["sizes"].append(entry)
    first = results["sizes"][0]
    results["import_rows"] = first["rows"]
    results["import_slowest_s"] = max(first["docx_s"], first["text_s"], first["layout_s"])
    results["import_docx_vs_read"] = first["import_docx_vs_read"]
    return results
