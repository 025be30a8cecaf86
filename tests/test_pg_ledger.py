"""PostgreSQL as a ledger: the password's path (never in config, logs or errors), psycopg 3,
and migrations when two processes start together on a new database."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers import copy_plans
from pgcluster import PgCluster

from reminder.config import ConfigError, load
from reminder.ledger import Ledger, LedgerError, unavailable
from reminder.logs import _registered

REPO = Path(__file__).resolve().parents[1]
SHIPPED = (REPO / "config.toml").read_text(encoding="utf-8")
PASSWORD = "Mật-khẩu-sổ-gửi-9f3"


def _config(tmp_path: Path, database: str) -> Path:
    """The shipped config with its [database] table replaced by `database`."""
    text = SHIPPED.replace('[database]\nurl = "sqlite:///reminder.db"\n', database, 1)
    assert text != SHIPPED
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    copy_plans(tmp_path)
    return path


def test_password_in_the_url_is_refused_without_repeating_it(tmp_path: Path) -> None:
    """A URL with a password is a config error at database.url that does not quote the URL."""
    url = f"postgresql+psycopg://reminder:{PASSWORD}@db.tinh.example/reminder"
    cfg = _config(tmp_path, f'[database]\nurl = "{url}"\n')
    with pytest.raises(ConfigError) as err:
        load(cfg)
    text = "\n".join(str(p) for p in err.value.problems)
    assert "database.url: a password does not belong in config.toml" in text
    assert PASSWORD not in text and "db.tinh.example" not in text


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql://u@h/db", "unsupported database 'mysql'"),
        ("reminder.db", "expected sqlite:///FILE or postgresql+psycopg://"),
    ],
)
def test_other_databases_are_config_errors(tmp_path: Path, url: str, expected: str) -> None:
    """Only sqlite and postgresql URLs pass `reminder check`, with the line of the key."""
    cfg = _config(tmp_path, f'[database]\nurl = "{url}"\n')
    with pytest.raises(ConfigError) as err:
        load(cfg)
    assert any(expected in str(p) and "database.url" in str(p) for p in err.value.problems)


def test_password_comes_from_the_file_and_not_the_url(tmp_path: Path) -> None:
    """password_file (one trailing newline removed) fills database_password; the URL has none."""
    secret = tmp_path / "db.password"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    secret.chmod(0o600)
    url = "postgresql+psycopg://reminder@127.0.0.1:5432/reminder"
    s = load(_config(tmp_path, f'[database]\nurl = "{url}"\npassword_file = "db.password"\n'))
    assert (s.database_url, s.database_password) == (url, PASSWORD)
    assert PASSWORD in _registered()  # redacted from the logs should it ever reach them


def test_password_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """$REMINDER_DATABASE_PASSWORD is read when there is no credential."""
    monkeypatch.setenv("REMINDER_DATABASE_PASSWORD", PASSWORD)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    s = load(_config(tmp_path, '[database]\nurl = "postgresql+psycopg://r@127.0.0.1/r"\n'))
    assert s.database_password == PASSWORD


def test_ledger_url_hides_the_password_and_bare_postgresql_means_psycopg() -> None:
    """Ledger.url shows *** for the password; postgresql:// uses psycopg 3."""
    led = Ledger("postgresql://reminder@127.0.0.1:1/reminder", password=PASSWORD)
    assert led.url == "postgresql+psycopg://reminder:***@127.0.0.1:1/reminder"
    assert PASSWORD not in repr(led.engine.url)
    with pytest.raises(LedgerError, match="use postgresql\\+psycopg"):
        Ledger("postgresql+psycopg2://reminder@127.0.0.1/reminder")


def test_wrong_password_error_names_the_server_never_the_password(pg_cluster: PgCluster) -> None:
    """A refused login is an `unavailable` reason naming host and user, without any password."""
    url = pg_cluster.url("postgres", password=False)
    with Ledger(url, password=PASSWORD) as led, pytest.raises(LedgerError) as err:
        led.migrate()
    reason = unavailable(err.value)
    assert reason is not None and "password authentication failed" in reason
    assert PASSWORD not in str(err.value) and pg_cluster.password not in str(err.value)


def test_unreachable_server_is_unavailable_with_the_reason(pg_cluster: PgCluster) -> None:
    """Nothing listening: `unavailable` gives libpq's one-line reason (connection refused)."""
    with Ledger("postgresql+psycopg://x@127.0.0.1:1/x") as led, pytest.raises(Exception) as err:
        led.known_keys(["k"])
    reason = unavailable(err.value)
    assert reason is not None and "refused" in reason.lower()
    assert "\n" not in reason


MIGRATE = """
import logging, sys, time
from reminder.ledger import Ledger
logging.basicConfig(level=logging.INFO, format="%(name)s %(message)s", stream=sys.stdout)
start = float(sys.argv[2])
while time.time() < start:
    time.sleep(0.001)
with Ledger(sys.argv[1]) as led:
    led.migrate()
print("migrated")
"""


def test_two_starters_on_a_new_database_exactly_one_migrates(pg_cluster: PgCluster) -> None:
    """Two processes migrate a new PostgreSQL database at the same instant: the advisory lock
    lets one run the upgrade; the other waits, finds the schema at head and runs nothing."""
    import time

    url = pg_cluster.url(pg_cluster.new_database())
    start = time.time() + 4  # both are importing by then; they start migrating together
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(MIGRATE), url, str(start)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=90)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    upgrades = [out.count("Running upgrade") for out in outputs]
    assert sorted(n > 0 for n in upgrades) == [False, True], outputs
    with Ledger(url) as led, led.engine.connect() as conn:
        versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    assert len(versions) == 1
