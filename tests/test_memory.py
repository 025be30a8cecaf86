"""What the daemon keeps resident: modules it imports at start only for rare paths (issue 24,
the idle memory goal). Each probe runs in a fresh interpreter, so sys.modules is its own."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from daemon_harness import Config, Spawn, TimedSMTPServer, write_config

from reminder.ledger import open_ledger, schema_head
from reminder.model import VN_TZ

X = datetime(2026, 12, 1, 8, 0, tzinfo=VN_TZ)  # the harness config's reminder instant

PROBE = """
import sys
from reminder.ledger import open_ledger
open_ledger(sys.argv[1]).close()
{more}
print(" ".join(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def _probe(url: str, heavy: tuple[str, ...], more: str = "") -> list[str]:
    code = PROBE.format(more=more, heavy=heavy)
    done = subprocess.run(
        [sys.executable, "-c", code, url], capture_output=True, text=True, check=True
    )
    return done.stdout.split()


def test_the_head_read_from_the_migration_files_is_alembics() -> None:
    """schema_head(), read from the files' revision lines, is the head alembic computes."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from reminder.ledger import MIGRATIONS_DIR

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(cfg).get_heads() == [schema_head()]


def test_a_ledger_at_head_opens_without_importing_alembic(tmp_path: Path) -> None:
    """The first start creates the ledger with alembic; a restart (ledger at head) imports
    neither alembic nor mako, which would stay resident for the daemon's whole life."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    assert _probe(url, ("alembic", "mako")) == ["alembic", "mako"]
    assert _probe(url, ("alembic", "mako")) == []


def test_a_ledger_at_a_revision_this_code_does_not_know_still_goes_to_alembic(
    tmp_path: Path,
) -> None:
    """Only an exact match with this code's head skips alembic: a ledger stamped by a newer
    version is refused by alembic as before ("Can't locate revision")."""
    from alembic.util.exc import CommandError

    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    open_ledger(url).close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(CommandError, match="9999"):
        open_ledger(url)


def test_the_web_pages_import_icalendar_only_for_a_feed(tmp_path: Path) -> None:
    """Starting the web server (its pages module) does not import icalendar: only the first
    calendar feed does."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    more = "import reminder.web.server, reminder.web.pages, reminder.daemon"
    assert "icalendar" not in _probe(url, ("icalendar",), more)


def test_the_telegram_channel_and_poller_load_no_cryptography() -> None:
    """Importing the Telegram channel and poller (python-telegram-bot) does not load
    cryptography (Telegram Passport, unused), and cryptography is importable afterwards."""
    code = (
        "import sys\n"
        "import reminder.channels.telegram_poll, reminder.channels.telegram\n"
        "import telegram._bot\n"
        "print('cryptography' in sys.modules, telegram._bot.CRYPTO_INSTALLED)\n"
        "import cryptography.hazmat.primitives.ciphers\n"
        "print('cryptography' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False", "True"]


TRIM_PROBE = """
import sys
from reminder import heap
blocks = [bytes(3000) for _ in range(20_000)]  # ~60 MB from the C heap (not pymalloc)
keep = bytes(3000)  # allocated last: the heap's top stays in use, so free() cannot shrink it
del blocks
before = heap.rss_bytes()
assert heap.trim("a probe")
print(before - heap.rss_bytes())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc and /proc")
def test_trim_gives_the_freed_heap_back_to_the_system() -> None:
    """60 MB freed in the middle of the C heap stay resident until heap.trim() hands them back."""
    done = subprocess.run(
        [sys.executable, "-c", TRIM_PROBE], capture_output=True, text=True, check=True
    )
    assert int(done.stdout) > 40 * 2**20


def test_the_daemon_trims_its_heap_after_start_up_and_after_a_batch(
    tmp_path: Path, smtp: TimedSMTPServer, spawn: Spawn
) -> None:
    """After the start-up cycle, and after a cycle that sent, the daemon trims its heap
    (one DEBUG line each, with the RSS before and after)."""
    cfg = write_config(tmp_path, Config(smtp_port=smtp.port))
    daemon = spawn(cfg, X - timedelta(seconds=3), log_level="DEBUG")
    daemon.wait_for_line(r"heap trimmed after the start-up cycle: RSS [\d.]+ → [\d.]+ MB", 20)
    assert smtp.wait_for(1, timeout=20) == 1, daemon.text()
    daemon.wait_for_line(r"heap trimmed after a batch: RSS [\d.]+ → [\d.]+ MB", 10)
    assert daemon.stop() == 0


def test_cryptography_is_hidden_only_from_the_thread_importing_telegram() -> None:
    """The finder that hides cryptography while `telegram` is imported answers only to the
    thread importing it: another thread finds cryptography meanwhile as usual."""
    from concurrent.futures import ThreadPoolExecutor

    from reminder.channels.ptb import _Hide

    hide = _Hide()
    with pytest.raises(ModuleNotFoundError):
        hide.find_spec("cryptography.hazmat")
    assert hide.find_spec("cryptic") is None
    with ThreadPoolExecutor(1) as other:
        assert other.submit(hide.find_spec, "cryptography").result() is None
