"""Reading what people type to the bot: done, undo, status, link codes, help."""

from __future__ import annotations

import unicodedata

import pytest

from reminder.chatwords import Said, fold, read

CODE = "AbCdEfGhIjKlMnOpQrStUv_-"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("xong 3", Said("done", "3")),
        ("Xong nhiệm vụ 3", Said("done", "3")),
        ("XONG NHIỆM VỤ SỐ 3.", Said("done", "3")),
        ("da hoan thanh 3", Said("done", "3")),
        ("Đã hoàn thành nhiệm vụ 3 ạ", Said("done", "3")),
        ("hoàn thành NV3", Said("done", "3")),
        ("3 xong", Said("done", "3")),
        ("3 đã hoàn thành", Said("done", "3")),
        ("xong #12", Said("done", "12")),
        ("xong 2.1", Said("done", "2.1")),
        ("xong kh-45/3", Said("done", "kh-45/3")),
        ("Xong nhiệm vụ ke-hoach-45/2.1", Said("done", "ke-hoach-45/2.1")),
        ("huỷ 3", Said("undo", "3")),
        ("hủy 3", Said("undo", "3")),
        ("Huỷ xong nhiệm vụ 3", Said("undo", "3")),
        ("hoan tac 3", Said("undo", "3")),
        ("trạng thái", Said("status")),
        ("Trang thai", Said("status")),
        ("tt", Said("status")),
        ("/trangthai", Said("status")),
        ("tình hình", Said("status")),
        (CODE, Said("link", code=CODE)),
        (f"/start {CODE}", Said("link", code=CODE)),
        (f"mã {CODE}", Said("link", code=CODE)),
        (f"Liên kết: {CODE}", Said("link", code=CODE)),
        ("xin chào", Said("help")),
        ("xong", Said("help")),
        ("xong việc rồi nhé", Said("help")),
        ("", Said("help")),
        ("3", Said("help")),
    ],
)
def test_read(text: str, said: Said) -> None:
    """Each wording reads as its command, with the task it names."""
    assert read(text) == said


@pytest.mark.parametrize("text", ["Xong nhiệm vụ 3", "Đã hoàn thành 3", "huỷ 3", "trạng thái"])
def test_nfd_reads_like_nfc(text: str) -> None:
    """A decomposed (NFD) message reads the same as the composed one."""
    assert read(unicodedata.normalize("NFD", text)) == read(text)


def test_code_keeps_its_case() -> None:
    """A link code is read from the text as typed (codes are case-sensitive)."""
    assert read(CODE.lower()).code == CODE.lower()
    assert read(CODE).code == CODE


def test_fold() -> None:
    """Folding drops diacritics (đ too), case, extra spaces and end punctuation."""
    assert fold("  Đã  HOÀN   thành! ") == "da hoan thanh"
