"""The test appendices of tests/data, in the shapes offices write them, import as stated.

Each `tests/data/<name>` has `<name>.expected.json`: the tasks it must import to against
the shipped config.toml (numbers as the appendix gives them, section labels, titles with
their text-only sub-items, timing, lead, support, product, note). The files are made by
tests/data/make_appendices.py; the expectations there are written by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reminder.importer import import_appendix, read_wording

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
SHAPES = ["phu-luc-hai-dong.docx", "phu-luc.xlsx", "phu-luc-nhieu-trang.pdf", "phu-luc.tsv"]


def _import(name: str):  # type: ignore[no-untyped-def]
    return import_appendix(
        DATA / name,
        wanted=None,
        config_text=(ROOT / "config.toml").read_text(encoding="utf-8"),
        config_name="config.toml",
        year=2026,
        wording=read_wording(ROOT / "templates" / "import.toml"),
    )


@pytest.mark.parametrize("name", SHAPES)
def test_appendix_shape_imports_as_stated(name: str) -> None:
    """Sections, a heading with sub-tasks 2.1/2.2, text-only sub-items kept in the text,
    products and notes, every timing phrase and agency: as `<name>.expected.json` says."""
    expected = json.loads((DATA / f"{name}.expected.json").read_text(encoding="utf-8"))
    outcome = _import(name).outcome
    got = [
        {
            "number": t.label,
            "section": t.section,
            "title": t.title,
            "timing": t.timing,
            "frequency": t.recurrence.frequency.value if t.recurrence else None,
            "lead": t.lead.id if t.lead else None,
            "support": [r.id for r in t.support],
            "product": t.product,
            "note": t.remark,
        }
        for t in outcome.tasks
    ]
    assert got == expected
    assert outcome.timing_understood == len(expected)
    assert [t.checks for t in outcome.tasks] == [[]] * len(expected)
    assert outcome.proposed == []


def test_the_pdf_shape_spans_pages_with_its_header_repeated() -> None:
    """The PDF appendix is several pages, each starting with the header again."""
    import pdfplumber

    with pdfplumber.open(DATA / "phu-luc-nhieu-trang.pdf") as pdf:
        assert len(pdf.pages) >= 2
        firsts = [p.extract_tables()[0][0][1] for p in pdf.pages]
    assert firsts == ["Nội dung nhiệm vụ"] * len(firsts)
