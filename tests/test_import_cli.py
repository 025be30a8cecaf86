"""`reminder import` as ops run it: fragments, --merge beside the config, bad files (exit 65)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from helpers import INLINE_CONFIG, copy_shipped

from reminder import cli

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "config.toml"
SEED = Path(__file__).parent / "appendix" / "phu-luc-nhiem-vu.txt"
BIN = Path(sys.executable).parent / "reminder"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
NOW = "2026-11-26T09:00:00+07:00"

DOCX_TEXT = """Stt  Nội dung nhiệm vụ  Thời gian thực hiện  Đơn vị chủ trì  Đơn vị phối hợp"""


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed `reminder` script in `cwd`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMINDER_")}
    return subprocess.run(
        [str(BIN), *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=120
    )


def _docx(path: Path, rows: list[list[str]]) -> None:
    import docx

    document = docx.Document()
    header = [
        "Stt",
        "Nội dung nhiệm vụ",
        "Thời gian thực hiện",
        "Đơn vị chủ trì",
        "Đơn vị phối hợp",
    ]
    table = document.add_table(rows=1 + len(rows), cols=5)
    for r, values in enumerate([header, *rows]):
        for c, value in enumerate(values):
            table.cell(r, c).text = value
    document.save(str(path))


def test_merge_with_an_inline_config_writes_a_new_checked_file(tmp_path: Path) -> None:
    """--merge config.toml (a plan inline in it): a new file beside it passes `reminder check`; the original is untouched."""
    config = tmp_path / "config.toml"
    config.write_bytes(INLINE_CONFIG.read_bytes())
    before = config.read_bytes()
    _docx(
        tmp_path / "phu-luc.docx",
        [
            [
                "1",
                "Báo cáo chuyển đổi số",
                "Hằng năm",
                "Sở Khoa học và Công nghệ",
                "Sở Thông tin và Truyền thông, Sở Văn hóa, Thể thao và Du lịch, các tổ chức có liên quan",
            ],
            [
                "2",
                "Sơ kết kế hoạch",
                "Sau khi có hướng dẫn của Trung ương",
                "Sở Nội vụ",
                "UBND các huyện, thành phố",
            ],
        ],
    )
    done = run("import", "phu-luc.docx", "--merge", "config.toml", "--now", NOW, cwd=tmp_path)
    assert done.returncode == 65, done.stderr  # a new agency to review: the file is written
    assert config.read_bytes() == before
    merged = tmp_path / "config.imported.toml"
    data = tomllib.loads(merged.read_text(encoding="utf-8"))
    new = data["tasks"][-2:]
    assert [t["number"] for t in new] == [12, 13]
    assert new[0]["support"] == ["so-tttt", "so-van-hoa-the-thao-va-du-lich", "to-chuc-lien-quan"]
    assert data["agencies"][-1]["id"] == "so-van-hoa-the-thao-va-du-lich"
    assert "# cần xem: cơ quan, đơn vị mới" in merged.read_text(encoding="utf-8")
    assert "2 tasks in 0 sections, 2 timing phrases understood" in done.stderr
    assert "2 to review" in done.stderr
    check = run("--config", "config.imported.toml", "check", cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    again = run("import", "phu-luc.docx", "--merge", "config.toml", cwd=tmp_path)
    assert again.returncode == 65 and (tmp_path / "config.imported-2.toml").exists()


def test_merge_refuses_a_config_whose_plans_are_files(tmp_path: Path) -> None:
    """--merge config.toml with the shipped office (plans/ke-hoach.toml): one line pointing to `import --id`, exit 64, nothing written."""
    config = copy_shipped(tmp_path)
    before = config.read_bytes()
    _docx(tmp_path / "phu-luc.docx", [["1", "Báo cáo chuyển đổi số", "Hằng năm", "Sở Nội vụ", ""]])
    done = run("import", "phu-luc.docx", "--merge", "config.toml", "--now", NOW, cwd=tmp_path)
    assert done.returncode == 64, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith(
        "reminder import: config.toml keeps its plans as files in plans/ (ke-hoach): --merge"
    )
    assert "reminder import phu-luc.docx --id <plan id>" in line and "nothing written" in line
    assert config.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml", "phu-luc.docx", "plans"]
    assert [p.name for p in (tmp_path / "plans").iterdir()] == ["ke-hoach.toml"]


def test_seed_into_an_empty_config_then_upcoming(tmp_path: Path) -> None:
    """A new user: the seed merged into an empty file gives a config `upcoming` can plan."""
    (tmp_path / "config.toml").write_text("", encoding="utf-8")
    shutil.copy(SEED, tmp_path / "phu-luc.txt")
    done = run(
        "import",
        "phu-luc.txt",
        "--merge",
        "config.toml",
        "--plan-title",
        "Kế hoạch thử",
        cwd=tmp_path,
    )
    assert done.returncode == 65, done.stderr  # new agencies to review; the file is written
    assert "11 tasks in 0 sections, 11 timing phrases understood" in done.stderr
    merged = tmp_path / "config.imported.toml"
    text = merged.read_text(encoding="utf-8")
    merged.write_text(  # what ops do next: give the proposed agency its address
        text.replace(
            'name = "Sở Nội vụ"\n', 'name = "Sở Nội vụ"\nemail = ["sonoivu@tinh.example"]\n'
        ),
        encoding="utf-8",
    )
    up = run(
        "--config", "config.imported.toml", "upcoming", "--days", "400", "--now", NOW, cwd=tmp_path
    )
    assert up.returncode == 0, up.stderr
    assert "Sở Nội vụ" in up.stdout and "sonoivu@tinh.example" in up.stdout


def test_fragment_to_stdout_and_to_a_file(tmp_path: Path) -> None:
    """Without --merge the fragment goes to stdout (or -o) and parses as TOML."""
    copy_shipped(tmp_path)
    shutil.copy(SEED, tmp_path / "phu-luc.txt")
    out = run("import", "phu-luc.txt", cwd=tmp_path)
    assert out.returncode == 65, out.stderr  # the seed's one shared qualifier to review
    assert len(tomllib.loads(out.stdout)["tasks"]) == 11
    to_file = run("import", "phu-luc.txt", "-o", "tasks.toml", cwd=tmp_path)
    assert to_file.returncode == 65 and to_file.stdout == ""
    assert (tmp_path / "tasks.toml").read_text(encoding="utf-8") == out.stdout


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_pdf_with_a_text_layer_is_imported_through_pdftotext(tmp_path: Path) -> None:
    """A PDF table (fpdf2, wrapped cells) is read through `pdftotext -layout`."""
    fpdf = pytest.importorskip("fpdf")
    if not FONT.exists():
        pytest.skip("DejaVu font not installed")
    pdf = fpdf.FPDF(orientation="L")
    pdf.add_page()
    pdf.add_font("dv", "", str(FONT))
    pdf.add_font("dv", "B", str(FONT))
    pdf.set_font("dv", size=10)
    rows = [
        ("Stt", "Nội dung nhiệm vụ", "Thời gian thực hiện", "Đơn vị chủ trì", "Đơn vị phối hợp"),
        (
            "1",
            "Kế hoạch đào tạo, bồi dưỡng cán bộ, công chức, viên chức tỉnh Kiên Giang, giai đoạn 2021 – 2025",
            "Hằng năm",
            "Sở Nội vụ",
            "Trường Chính trị tỉnh, cơ sở đào tạo, bồi dưỡng, các cơ quan, đơn vị, địa phương trên địa bàn tỉnh",
        ),
        (
            "2",
            "Tổ chức Hội thi sáng tạo khoa học kỹ thuật tỉnh",
            "02 năm/lần",
            "Liên hiệp các Hội Khoa học và Kỹ thuật tỉnh",
            "Sở Khoa học và Công nghệ, các tổ chức có liên quan",
        ),
    ]
    with pdf.table(col_widths=(10, 80, 30, 40, 60)) as table:
        for values in rows:
            row = table.row()
            for value in values:
                row.cell(value)
    pdf.output(str(tmp_path / "phu-luc.pdf"))
    copy_shipped(tmp_path)
    done = run("import", "phu-luc.pdf", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    tasks = tomllib.loads(done.stdout)["tasks"]
    assert [t["title"] for t in tasks] == [rows[1][1], rows[2][1]]
    assert [t["lead"] for t in tasks] == ["so-noi-vu", "lhh-khkt"]
    assert tasks[0]["support"] == ["truong-chinh-tri", "co-so-dao-tao", "co-quan-dia-phuong"]


def _scanned_pdf(path: Path) -> None:
    fpdf = pytest.importorskip("fpdf")
    pdf = fpdf.FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60, style="F")  # an image-like page: no text at all
    pdf.output(str(path))


BAD = {
    "no-table.txt": ("Kế hoạch năm 2025\nKhông có bảng.\n".encode(), "no appendix table found"),
    "empty-table.txt": (
        "Stt Nội dung nhiệm vụ Thời gian thực hiện Đơn vị chủ trì\n".encode(),
        "no task rows",
    ),
    "old.doc": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "save it as .docx"),
    "fake.docx": ("Stt Nội dung\n".encode(), "the name says .docx but the file is text"),
    "fake.pdf": (b"PK\x03\x04not really a zip", "a damaged zip archive, not an appendix"),
    "blank.txt": (b"   \n", "the file is empty"),
    "photo.docx": (
        b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 600,
        "a JPEG image (a photo or a scan?)",
    ),
    "binary.txt": (bytes(range(256)) * 4, "binary data"),
}


def _encrypted_pdf(path: Path) -> None:
    fpdf = pytest.importorskip("fpdf")
    pdf = fpdf.FPDF()
    pdf.set_encryption(owner_password="chu", user_password="mat-khau")
    pdf.add_page()
    pdf.set_font("helvetica")
    pdf.cell(text="Phu luc nhiem vu " * 5)
    pdf.output(str(path))


@pytest.mark.parametrize("name", [*BAD, "scan.pdf", "encrypted.pdf"])
def test_bad_input_is_one_line_exit_65_and_nothing_written(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No table, an empty table, .doc, a scan, an encrypted PDF, a photo renamed .docx, a
    misnamed file: one line, exit 65, no file."""
    path = tmp_path / name
    if name == "scan.pdf":
        if shutil.which("pdftotext") is None:
            pytest.skip("poppler-utils not installed")
        _scanned_pdf(path)
        expected = "no text layer"
    elif name == "encrypted.pdf":
        _encrypted_pdf(path)
        expected = "this PDF is encrypted (password-protected)"
    else:
        data, expected = BAD[name]
        path.write_bytes(data)
    copy_shipped(tmp_path)
    (tmp_path / "inline.toml").write_bytes(INLINE_CONFIG.read_bytes())  # --merge's own shape
    before = sorted(p.name for p in tmp_path.iterdir())
    monkeypatch.chdir(tmp_path)
    for extra in ([], ["-o", "out.toml"], ["--merge", "inline.toml"]):
        assert cli.main(["import", name, *extra]) == 65
        out, err = capsys.readouterr()
        assert out == ""
        lines = err.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0] and "nothing written" in lines[0], lines
        assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_docx_flag_on_a_text_file_is_refused(tmp_path: Path) -> None:
    """--from docx on a text file says what the file is (exit 65)."""
    shutil.copy(SEED, tmp_path / "phu-luc.txt")
    done = run("import", "phu-luc.txt", "--from", "docx", cwd=tmp_path)
    assert done.returncode == 65 and "--from docx, but the file is text" in done.stderr


def test_merge_that_fails_the_check_says_why_and_keeps_the_original(tmp_path: Path) -> None:
    """An unknown timing phrase: the merged file is written, checked, and refused with exit 78."""
    config = tmp_path / "config.toml"
    config.write_bytes(INLINE_CONFIG.read_bytes())
    before = config.read_bytes()
    _docx(tmp_path / "a.docx", [["1", "Rà soát", "Khi có yêu cầu", "Sở Nội vụ", ""]])
    done = run("import", "a.docx", "--merge", "config.toml", cwd=tmp_path)
    assert done.returncode == 78
    assert 'timing phrase "Khi có yêu cầu": not understood' in done.stderr
    assert config.read_bytes() == before
    merged = (tmp_path / "config.imported.toml").read_text(encoding="utf-8")
    assert 'chưa hiểu cách ghi thời gian \\"Khi có yêu cầu\\"' in merged  # its review list
    assert 'timing = "Khi có yêu cầu"' in merged  # kept verbatim, not cut
    assert "[[tasks.milestones]]" not in merged.split('timing = "Khi có yêu cầu"')[1]


def test_output_onto_the_config_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """-o config.toml would overwrite the configuration: refused (73, even with --force), nothing written."""
    copy_shipped(tmp_path)
    shutil.copy(SEED, tmp_path / "phu-luc.txt")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["import", "phu-luc.txt", "-o", "config.toml", "--force"]) == 73
    assert "--merge writes a merged copy beside it" in capsys.readouterr().err
    assert (tmp_path / "config.toml").read_bytes() == SHIPPED.read_bytes()


def test_plan_title_heads_the_file_and_product_is_its_own_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--plan-title heads the file; a "Sản phẩm" cell is the task's `product`, a "Ghi chú"
    cell its `note` (wording from templates/import.toml)."""
    import docx

    document = docx.Document()
    table = document.add_table(rows=2, cols=7)
    header = [
        "Stt",
        "Nội dung nhiệm vụ",
        "Sản phẩm",
        "Thời hạn hoàn thành",
        "Cơ quan chủ trì",
        "Cơ quan phối hợp",
        "Ghi chú",
    ]
    for c, (head, value) in enumerate(
        zip(
            header,
            ["1", "Ban hành quy chế", "Quyết định", "Quý I/2027", "Sở Nội vụ", "", "Trình HĐND"],
            strict=True,
        )
    ):
        table.cell(0, c).text, table.cell(1, c).text = head, value
    document.save(str(tmp_path / "a.docx"))
    copy_shipped(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert (
        cli.main(["import", "a.docx", "--plan-title", "Kế hoạch số 9/KH-UBND", "-o", "t.toml"]) == 0
    )
    text = (tmp_path / "t.toml").read_text(encoding="utf-8")
    assert "# Kế hoạch: Kế hoạch số 9/KH-UBND\n" in text
    task = tomllib.loads(text)["tasks"][0]
    assert (task["product"], task["note"]) == ("Quyết định", "Trình HĐND")
    assert task["milestones"][0]["name"] == "Hoàn thành nhiệm vụ của kỳ"
    assert task["milestones"][0]["due_day"] == 20 and task["milestones"][0]["due_month"] == 3
