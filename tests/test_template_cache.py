"""Compiled templates in the cache folder: reused when unchanged, never trusted when not."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest

from reminder.config import load
from reminder.model import VN_TZ, Catalog
from reminder.render import Renderer, default_template_dir

SHIPPED = Path(__file__).resolve().parents[1] / "config.toml"
AT = datetime(2026, 12, 8, 8, 0, tzinfo=VN_TZ)


@pytest.fixture
def catalog() -> Catalog:
    return load(SHIPPED).catalog


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("REMINDER_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    return Path(shutil.copytree(default_template_dir(), tmp_path / "templates"))


def _subject(catalog: Catalog, templates: Path) -> str:
    renderer = Renderer(catalog, templates)
    return renderer.test_message("email", "a@tinh.example", AT).subject


def test_check_fills_the_cache_and_a_second_renderer_reads_it(
    catalog: Catalog, cache: Path, templates: Path
) -> None:
    """After one check every template is cached; another Renderer renders the same from it."""
    assert Renderer(catalog, templates).check() == []
    entries = sorted((cache / "templates").iterdir())
    assert len(entries) >= 7
    stamps = [p.stat().st_mtime_ns for p in entries]
    assert Renderer(catalog, templates).check() == []
    assert [p.stat().st_mtime_ns for p in sorted((cache / "templates").iterdir())] == stamps


def test_an_edited_template_is_compiled_again(
    catalog: Catalog, cache: Path, templates: Path
) -> None:
    """A template changed after it was cached renders its new text, not the cached one."""
    before = _subject(catalog, templates)
    path = templates / "test_subject.txt"
    path.write_text("Thử nghiệm mới: " + path.read_text(encoding="utf-8"), encoding="utf-8")
    after = _subject(catalog, templates)
    assert after.startswith("Thử nghiệm mới:") and after != before


def test_a_corrupt_cache_entry_is_compiled_again(
    catalog: Catalog, cache: Path, templates: Path
) -> None:
    """A truncated or garbage cache file is ignored, not an error."""
    expected = _subject(catalog, templates)
    for entry in (cache / "templates").iterdir():
        entry.write_bytes(entry.read_bytes()[:20] if entry.stat().st_size % 2 else b"garbage")
    assert _subject(catalog, templates) == expected
    assert Renderer(catalog, templates).check() == []


def test_an_unwritable_cache_folder_is_no_error(
    catalog: Catalog, tmp_path: Path, templates: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the cache folder blocked by a file, templates are compiled each time, silently."""
    blocker = tmp_path / "blocker"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("REMINDER_CACHE_DIR", str(blocker / "cache"))
    assert Renderer(catalog, templates).check() == []
    assert _subject(catalog, templates) == _subject(catalog, templates)
    assert not (blocker / "cache").exists()
