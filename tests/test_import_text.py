"""`reminder import` on text: the seed appendix (a PDF's text) round trip and broken lines."""

from __future__ import annotations

import tomllib
import unicodedata
from pathlib import Path

import pytest

from reminder.importer import directory_of, read_wording
from reminder.importer.names import Directory, split
from reminder.importer.table import BadInput, Column
from reminder.importer.tasks import build
from reminder.importer.text import read_text

ROOT = Path(__file__).resolve().parents[1]
SEED = Path(__file__).parent / "appendix" / "phu-luc-nhiem-vu.txt"
SHIPPED = tomllib.loads((ROOT / "config.toml").read_text(encoding="utf-8"))
SHIPPED_TASKS = tomllib.loads((ROOT / "plans" / "ke-hoach.toml").read_text(encoding="utf-8"))[
    "tasks"
]
NAMES = read_wording(ROOT / "templates" / "import.toml").milestones


def _import(text: str, config: dict[str, object]):  # type: ignore[no-untyped-def]
    d = directory_of(config)
    return build(
        read_text(text, d),
        d,
        taken_numbers=set(),
        taken_ids=set(),
        year=2026,
        milestone_names=NAMES,
    )


@pytest.mark.parametrize("form", ["NFC", "NFD"])
def test_seed_round_trip_gives_the_shipped_tasks_field_by_field(form: str) -> None:
    """Importing the seed (as given, or in NFD) against the shipped agencies gives the eleven tasks of plans/ke-hoach.toml."""
    text = unicodedata.normalize(form, SEED.read_text(encoding="utf-8"))
    outcome = _import(text, SHIPPED)
    shipped = SHIPPED_TASKS
    assert len(outcome.tasks) == len(shipped) == 11
    for got, want in zip(outcome.tasks, shipped, strict=True):
        assert got.id == want["former_id"]
        assert str(got.number) == want["number"]
        assert got.title == want["title"]
        assert got.timing == want["timing"]
        assert got.lead is not None and got.lead.id == want["lead"], got.number
        assert [r.id for r in got.support] == want["support"], got.number
    assert outcome.proposed == []
    assert outcome.timing_understood == 11


def test_seed_elliptical_list_is_matched_but_marked() -> None:
    """Task 10's "cơ quan, đơn vị, địa phương, doanh nghiệp trên địa bàn tỉnh" is two names, marked."""
    outcome = _import(SEED.read_text(encoding="utf-8"), SHIPPED)
    task = outcome.tasks[9]
    doubtful = [r for r in task.support if r.doubt]
    assert [r.id for r in doubtful] == ["co-quan-dia-phuong"]
    assert task.to_check


def test_seed_into_an_empty_config_proposes_agencies_and_groups() -> None:
    """Without a config every name is proposed once; plural/generic names become groups."""
    outcome = _import(SEED.read_text(encoding="utf-8"), {})
    names = {e.name: e for e in outcome.proposed}
    assert len(names) == len(outcome.proposed)
    assert not names["Sở Nội vụ"].is_group
    assert not names["Liên hiệp các Hội Khoa học và Kỹ thuật tỉnh"].is_group
    assert names["các cơ quan, đơn vị, địa phương trên địa bàn tỉnh"].is_group
    assert names["Ủy ban nhân dân các huyện, thành phố"].is_group
    first = outcome.tasks[0]
    assert [r.written for r in first.support] == [
        "Trường Chính trị tỉnh",
        "cơ sở đào tạo, bồi dưỡng",
        "các cơ quan, đơn vị, địa phương trên địa bàn tỉnh",
    ]
    assert all(r.doubt for r in first.support[1:])  # names with commas inside are marked


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Trường Chính trị tỉnh, cơ sở đào tạo, bồi dưỡng, các cơ quan, đơn vị, địa phương trên địa bàn tỉnh",
            ["truong-chinh-tri", "co-so-dao-tao", "co-quan-dia-phuong"],
        ),
        ("Sở Lao động Thương binh và Xã hội", ["so-ldtbxh"]),  # comma left out
        ("SỞ KẾ HOẠCH VÀ ĐẦU TƯ", ["so-ke-hoach-dau-tu"]),  # capitals; the pre-2025 name
        ("UBND các huyện, thành phố", ["ubnd-huyen"]),  # abbreviation
        ("Uỷ ban nhân dân các xã, phường", ["ubnd-xa-phuong"]),  # old tone placement
        ("Sở Khoa học và Công nghệ và Sở Tài chính", ["so-khcn", "so-tai-chinh"]),
        ("Sở Giáo dục và Đào tạo; Sở Nội vụ", ["so-giao-duc", "so-noi-vu"]),
    ],
)
def test_known_names_are_matched_after_normalisation(text: str, expected: list[str]) -> None:
    """Case, NFD, tone placement, punctuation and "UBND" do not stop a match."""
    d = directory_of(SHIPPED)
    for form in (text, unicodedata.normalize("NFD", text)):
        assert [p.entry.id if p.entry else None for p in split(d, form)] == expected


def test_unknown_names_split_at_head_words() -> None:
    """An unknown list is cut where a piece starts an agency name, not at every comma."""
    pieces = split(
        Directory(), "Sở Văn hóa, Thể thao và Du lịch, Công an tỉnh và các đơn vị liên quan"
    )
    assert [p.text for p in pieces] == [
        "Sở Văn hóa, Thể thao và Du lịch",
        "Công an tỉnh",
        "các đơn vị liên quan",
    ]


BROKEN = """KẾ HOẠCH
PHỤ LỤC
Stt
Nội dung nhiệm
vụ
Thời hạn
hoàn thành
Cơ quan chủ
trì
Cơ quan phối hợp

1
Triển khai Nghị quyết số 57-
NQ/TW về khoa học, công nghệ Hằng quý Sở Khoa học và
Công nghệ
Sở Tài chính, Sở Nội
vụ

3
Báo cáo tình hình thực hiện kế
hoạch năm 2025

Mỗi khi cần

Sở Nội vụ

Các sở, ban, ngành tỉnh


7

4
Tổng kết
Năm 2027 Sở Tài chính
"""


def test_broken_text_header_variants_missing_number_and_unknown_timing() -> None:
    """A pasted text: header variants over lines, a skipped number, a page number, an odd phrase."""
    d = directory_of(SHIPPED)
    rows = read_text(BROKEN.replace("\n", "\r\n"), d)
    assert [r.number for r in rows] == ["1", "3", "4"]
    assert rows[0].cells[Column.CONTENT].startswith("Triển khai Nghị quyết số 57-NQ/TW")
    assert rows[0].cells[Column.TIMING] == "Hằng quý"
    assert rows[0].cells[Column.LEAD] == "Sở Khoa học và Công nghệ"
    assert rows[0].cells[Column.SUPPORT] == "Sở Tài chính, Sở Nội vụ"
    assert rows[1].cells[Column.SUPPORT] == "Các sở, ban, ngành tỉnh"  # page number "7" dropped
    assert rows[2].cells[Column.TIMING] == "Năm 2027"
    outcome = build(rows, d, taken_numbers=set(), taken_ids=set(), year=2026, milestone_names=NAMES)
    odd = outcome.tasks[1]
    assert odd.checks[0] == "task number 2 missing in the appendix before this one"
    assert odd.recurrence is None and any("Mỗi khi cần" in c for c in odd.checks)
    assert outcome.timing_understood == 2
    assert [e.name for e in outcome.proposed] == ["Các sở, ban, ngành tỉnh"]
    assert outcome.proposed[0].is_group


@pytest.mark.parametrize(
    "text",
    ["", "Báo cáo năm 2025\nkhông có bảng nào ở đây\n", "Stt Nội dung Thời gian Đơn vị chủ trì\n"],
)
def test_text_without_a_table_or_rows_is_bad_input(text: str) -> None:
    """No header, or a header with no task rows: BadInput, not an empty import."""
    with pytest.raises(BadInput):
        read_text(text, Directory())


LAID_OUT = """                         PHỤ LỤC NHIỆM VỤ

        Nội dung nhiệm vụ               Thời gian      Cơ quan chủ     Cơ quan phối hợp
Stt                                     thực hiện      trì
      Triển khai kế hoạch chuyển đổi
1     số của tỉnh                       Hằng năm       Sở Nội vụ       Sở Tài chính, Sở Khoa
                                                                       học và Công nghệ

      Báo cáo sơ kết                    Quý III/2026   Sở Tài chính    các tổ chức có liên
2                                                                      quan

                                        3
        Nội dung nhiệm vụ               Thời gian      Cơ quan chủ     Cơ quan phối hợp
Stt                                     thực hiện      trì
      (tiếp theo) thực hiện theo
      Nghị quyết số 57-
      NQ/TW

999   Tổng kết                          Năm 2027       Sở Nội vụ       Sở Tài chính
1000  Khen thưởng                       Năm 2027       Sở Nội vụ       Sở Tài chính

Nơi nhận:
- Như trên;
"""


def test_laid_out_text_is_read_by_column_positions() -> None:
    """Aligned columns: rows by number, a page's number and repeated header skipped, a block continued."""
    from reminder.importer.layout import looks_laid_out, read_layout

    assert looks_laid_out(LAID_OUT) and not looks_laid_out(SEED.read_text(encoding="utf-8"))
    rows = read_layout(LAID_OUT)
    assert [r.number for r in rows] == ["1", "2", "999", "1000"]
    first, second = rows[0].cells, rows[1].cells
    assert first[Column.CONTENT] == "Triển khai kế hoạch chuyển đổi số của tỉnh"
    assert first[Column.TIMING] == "Hằng năm"
    assert first[Column.LEAD] == "Sở Nội vụ"
    assert first[Column.SUPPORT] == "Sở Tài chính, Sở Khoa học và Công nghệ"
    assert second[Column.TIMING] == "Quý III/2026"
    assert second[Column.CONTENT] == (
        "Báo cáo sơ kết (tiếp theo) thực hiện theo Nghị quyết số 57-NQ/TW"
    )
    assert rows[3].cells[Column.CONTENT] == "Khen thưởng"
    outcome = build(
        rows,
        directory_of(SHIPPED),
        taken_numbers=set(),
        taken_ids=set(),
        year=2026,
        milestone_names=NAMES,
    )
    assert [t.id for t in outcome.tasks] == ["nv01", "nv02", "nv999", "nv1000"]
    assert outcome.tasks[1].milestones[0].fields == {"due_day": 20, "due_month": 3}


ONE_LINE_ROWS = """TT Nội dung công việc Đơn vị chủ trì Đơn vị phối hợp Thời gian thực hiện
1 Tổ chức hội nghị tổng kết Sở Nội vụ Sở Tài chính Hằng năm
2
Xây dựng đề án chuyển đổi số
Sở Khoa học và Công nghệ
Sở Tài chính, Sở Nội vụ
Quý II/2026
3 Kiểm tra, giám sát Sở Tài chính các tổ chức có liên quan Năm 2027
"""


def test_columns_in_another_order_and_rows_run_together_on_one_line() -> None:
    """Timing last, as the header says; a row on one line is cut at known names and the phrase."""
    outcome = _import(ONE_LINE_ROWS, SHIPPED)
    got = [
        (t.title, t.timing, t.lead.id if t.lead else "", [r.id for r in t.support])
        for t in outcome.tasks
    ]
    assert got == [
        ("Tổ chức hội nghị tổng kết", "Hằng năm", "so-noi-vu", ["so-tai-chinh"]),
        ("Xây dựng đề án chuyển đổi số", "Quý II/2026", "so-khcn", ["so-tai-chinh", "so-noi-vu"]),
        ("Kiểm tra, giám sát", "Năm 2027", "so-tai-chinh", ["to-chuc-lien-quan"]),
    ]
