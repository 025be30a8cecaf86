"""7b. A 20 MB appendix: `reminder import` of .docx, .pdf and .xlsx appendices of about
20 MB each, as offices send them — a table of 1,000 task rows (the two-row-header shape of
tests/data, sections and sub-items included) with a ~19 MB scanned page embedded (a
photo of the signed page: incompressible pixels). Each import runs in its own process;
its wall time and peak memory (ru_maxrss) are measured. Goal (issue 21): ≤ 30 s and
≤ 300 MB each. The rows-heavy case — an .xlsx of 20,000 rows (no image) — is measured too.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import REPO, say, tmpdir

_MEASURE = """
import sys, time
from reminder.cli import main
t0 = time.perf_counter()
rc = main(["--config", sys.argv[2], "import", sys.argv[1], "-o", sys.argv[3]])
dt = time.perf_counter() - t0
# VmHWM: this process's peak (ru_maxrss would carry the parent's across exec)
hwm = next(ln for ln in open("/proc/self/status") if ln.startswith("VmHWM"))
print("RESULT", rc, round(dt, 3), int(hwm.split()[1]) // 1024)
"""


_ROMANS = [
    "I",
    "II",
    "III",
    "IV",
    "V",
    "VI",
    "VII",
    "VIII",
    "IX",
    "X",
    "XI",
    "XII",
    "XIII",
    "XIV",
    "XV",
    "XVI",
    "XVII",
    "XVIII",
    "XIX",
    "XX",
]


def _rows(n: int) -> list[tuple[str, ...]]:
    sys.path.insert(0, str(REPO / "tests" / "data"))
    from make_appendices import ROWS

    out: list[tuple[str, ...]] = []
    block = 0
    while len(out) < n:
        block += 1
        for row in ROWS:
            if row[0] in ("I", "II"):
                k = (2 * (block - 1) + (row[0] == "II")) % len(_ROMANS)
                out.append((_ROMANS[k], f"{row[1]} (phần {block})"))
                continue
            number = row[0]
            if number[0].isdigit():
                head, _, tail = number.partition(".")
                number = str(int(head) + 8 * (block - 1)) + (f".{tail}" if tail else "")
            out.append((number, *row[1:]))
    return out[:n]


def _image(folder: Path) -> Path:
    """A ~19 MB PNG of noise (a scan does not compress)."""
    path = folder / "scan.png"
    subprocess.run(
        ["convert", "-size", "2520x2520", "xc:", "+noise", "Random", "-depth", "8", str(path)],
        check=True,
    )
    return path


def _docx(path: Path, rows: list[tuple[str, ...]], image: Path) -> None:
    import docx
    from docx.shared import Cm

    sys.path.insert(0, str(REPO / "tests" / "data"))
    from make_appendices import HEADER_TWO

    document = docx.Document()
    table = document.add_table(rows=2 + len(rows), cols=7)
    for c, text in enumerate(HEADER_TWO[0]):
        table.rows[0].cells[c].text = text
    for c, text in enumerate(HEADER_TWO[1]):
        table.rows[1].cells[c].text = text
    table.cell(0, 2).merge(table.cell(0, 3)).text = "Cơ quan thực hiện"
    for r, row in enumerate(rows, start=2):
        cells = table.rows[r].cells
        for c, text in enumerate(row if len(row) == 7 else (row[0], row[1])):
            cells[c].text = text  # a section: its numeral and title in the first two cells
    document.add_picture(str(image), width=Cm(16))
    document.save(str(path))


def _pdf(path: Path, rows: list[tuple[str, ...]], image: Path) -> None:
    from fpdf import FPDF

    font = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    pdf = FPDF(orientation="L", format="A4")
    pdf.add_font("DejaVu", fname=str(font))
    pdf.add_font("DejaVu", style="B", fname=str(font.with_name("DejaVuSans-Bold.ttf")))
    pdf.set_font("DejaVu", size=9)
    pdf.add_page()
    header = ["STT", "Nội dung nhiệm vụ", "Đơn vị chủ trì", "Đơn vị phối hợp", "Thời gian thực hiện", "Sản phẩm", "Ghi chú"]  # fmt: skip
    with pdf.table(col_widths=(12, 70, 38, 40, 40, 40, 37), line_height=6) as table:
        table.row(header)
        for row in rows:
            if len(row) != 7:
                table.row().cell(f"{row[0]}. {row[1]}", colspan=7)
                continue
            n, c, lead, sup, timing, product, note = row
            table.row([n, c, lead, sup, timing, product, note])
    pdf.add_page()
    pdf.image(str(image), w=180)
    pdf.output(str(path))


def _xlsx(path: Path, rows: list[tuple[str, ...]], image: Path | None) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.append(["STT", "Nhiệm vụ", "Thời gian thực hiện", "Đơn vị chủ trì", "Đơn vị phối hợp", "Sản phẩm", "Ghi chú"])  # fmt: skip
    for row in rows:
        if len(row) != 7:
            ws.append([f"{row[0]}. {row[1]}"])
            continue
        n, c, lead, sup, timing, product, note = row
        ws.append([n, c, timing, lead, sup, product, note])
    book.save(str(path))
    if image is not None:  # an image in the package, as Excel keeps a pasted scan
        import zipfile

        with zipfile.ZipFile(path, "a") as z:
            z.write(image, "xl/media/image1.png")


def _measure(path: Path, config: Path, out: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path), str(config), str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - t0
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("RESULT")), "")
    if not line:
        raise RuntimeError(f"import of {path.name} failed: {done.stderr[-500:]}")
    _, rc, inner, rss = line.split()
    tasks = out.read_text(encoding="utf-8").count("[[tasks]]\n")
    return {
        "mb": round(path.stat().st_size / 1e6, 1),
        "exit": int(rc),
        "s": round(wall, 2),
        "import_s": float(inner),
        "peak_mb": int(rss),
        "tasks": tasks,
    }


def run(quick: bool) -> dict[str, Any]:
    n = 200 if quick else 1000
    say(f"\n== 7b. Import of ~20 MB appendices ({n} rows + a scanned page) ==")
    results: dict[str, Any] = {}
    with tmpdir("import20") as tmp:
        config = tmp / "config.toml"
        config.write_text((REPO / "config.toml").read_text(encoding="utf-8"), encoding="utf-8")
        shutil.copytree(REPO / "plans", tmp / "plans")  # the seed plan's tasks
        image = _image(tmp)
        rows = _rows(n)
        files = {
            "docx": tmp / "phu-luc.docx",
            "pdf": tmp / "phu-luc.pdf",
            "xlsx": tmp / "phu-luc.xlsx",
            "xlsx_rows": tmp / "phu-luc-dong.xlsx",
        }
        _docx(files["docx"], rows, image)
        _pdf(files["pdf"], rows, image)
        _xlsx(files["xlsx"], rows, image)
        _xlsx(files["xlsx_rows"], _rows(2000 if quick else 20000), None)
        for kind, path in files.items():
            entry = _measure(path, config, tmp / f"{kind}.toml")
            results[kind] = entry
            say(
                f"  {kind:9s} {entry['mb']:5.1f} MB: {entry['s']:6.2f} s, peak {entry['peak_mb']} MB, "
                f"{entry['tasks']} tasks, exit {entry['exit']}"
            )
    results["import20_slowest_s"] = max(results[k]["s"] for k in ("docx", "pdf", "xlsx"))
    results["import20_peak_mb"] = max(results[k]["peak_mb"] for k in ("docx", "pdf", "xlsx"))
    say(json.dumps({k: v for k, v in results.items() if k.startswith("import20")}))
    return results
