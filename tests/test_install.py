"""What ops rely on after an install or upgrade: the version of the running code, and
commands that refuse to lock the service out of its own state folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib.metadata import version as installed_version
from pathlib import Path

import pytest
from helpers import write_config

import reminder
from reminder.statedir import Foreign, foreign_owner, sqlite_path

BIN = Path(sys.executable).parent / "reminder"


def test_version_names_the_installed_build() -> None:
    """`reminder --version` prints the installed package's version, which names a commit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMINDER_")}
    done = subprocess.run(
        [str(BIN), "--version"], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"reminder {installed_version('reminder')}\n"
    assert reminder.version() == reminder.__version__ == installed_version("reminder")


# --- commands run as another user than the state folder's owner (issue 13, item 4) ----------

NOBODY = 65534


def test_foreign_owner_is_judged_by_the_nearest_existing_folder(tmp_path: Path) -> None:
    """A path not yet made is judged by the folder it would be created in; the owner may write."""
    me = os.geteuid()
    ledger = tmp_path / "state" / "ledger.db"
    ledger.parent.mkdir()
    outbox = tmp_path / "state" / "outbox"
    assert foreign_owner([ledger, outbox], me) is None
    assert foreign_owner([ledger, outbox], me + 1) == Foreign(ledger.parent, me)
    ledger.write_bytes(b"")
    assert foreign_owner([ledger], me + 1) == Foreign(ledger, me)


def test_foreign_owner_ignores_shared_sticky_folders(tmp_path: Path) -> None:
    """Under a sticky world-writable folder such as /tmp each user keeps their own files: no refusal."""
    shared = tmp_path / "tmp"
    shared.mkdir()
    shared.chmod(0o1777)
    assert foreign_owner([shared / "mine" / "outbox"], os.geteuid() + 1) is None
    shared.chmod(0o0777)
    assert foreign_owner([shared / "mine" / "outbox"], os.geteuid() + 1) is not None


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:////var/lib/reminder/ledger.db", Path("/var/lib/reminder/ledger.db")),
        ("sqlite:///rel/ledger.db", Path("rel/ledger.db")),
        ("sqlite:////srv/l.db?timeout=5", Path("/srv/l.db")),
        ("sqlite:///:memory:", None),
        ("postgresql://reminder@db/reminder", None),
    ],
)
def test_sqlite_path_of_a_ledger_url(url: str, path: Path | None) -> None:
    """Only a SQLite ledger is a file in the state folder; PostgreSQL and :memory: are not."""
    assert sqlite_path(url) == path


needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="making a folder another user's needs root (chown)"
)


def _cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMINDER_")}
    return subprocess.run(
        [str(BIN), "--config", str(config), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@needs_root
@pytest.mark.parametrize(
    "args",
    [
        ("run", "--once", "--now", "2026-12-01T08:00:00+07:00"),
        ("done", "1", "2026"),
        ("history",),
        ("send-test", "email", "vanthu@tinh.example"),
        ("run",),
    ],
)
def test_root_refuses_to_write_into_the_services_folder(tmp_path: Path, args: tuple[str]) -> None:
    """As root, with the state folder another user's: exit 77, one line naming both, nothing made."""
    state = tmp_path / "state"
    state.mkdir()
    config = write_config(state)
    os.chown(state, NOBODY, NOBODY)
    done = _cli(config, *args)
    assert done.returncode == 77, done.stderr
    lines = [line for line in done.stderr.splitlines() if "WARNING" not in line]  # config's
    assert len(lines) == 1, done.stderr
    assert f"{state} belongs to " in lines[0] and f"uid {NOBODY}" in lines[0]
    assert "runs as root (uid 0)" in lines[0]
    assert sorted(p.name for p in state.iterdir()) == ["config.toml", "plans"]


@needs_root
def test_root_may_write_where_root_owns_the_folder(tmp_path: Path) -> None:
    """The same command in a folder root owns (a developer's checkout run as root) proceeds."""
    config = write_config(tmp_path)
    done = _cli(config, "done", "1", "2026")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "ledger.db").is_file()


# --- the install guide, in English and Vietnamese (issue 13, items 6–7) ---------------------

DOCS = Path(__file__).resolve().parents[1] / "docs"


def guide_commands(name: str) -> list[str]:
    """The lines of a guide's shell blocks (```sh or a bare ```), without their trailing
    `# comment` (translated); toml/nginx blocks keep translated comments and are left out."""
    lines: list[str] = []
    fence: str | None = None  # the open block's language, "" for a bare fence
    for line in (DOCS / name).read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            fence = line.lstrip()[3:].strip() if fence is None else None
            continue
        if fence in ("", "sh"):
            command = re.sub(r"\s+#\s.*$", "", line).strip()
            if command:
                lines.append(command)
    return lines


def test_vietnamese_guide_has_the_english_guides_commands() -> None:
    """docs/install.vi.md gives exactly the commands of docs/install.md, in the same order."""
    english = guide_commands("install.md")
    assert len(english) > 50
    assert guide_commands("install.vi.md") == english
