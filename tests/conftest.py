"""Shared fixtures: the local SMTP server, the fake Telegram Bot API (tests/fakes/), and the
two ledger back-ends (SQLite file, throw-away PostgreSQL cluster from tests/pgcluster.py)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from daemon_harness import DaemonProcess, Spawn, TimedSMTPServer
from fakes.notify_socket import FakeNotifySocket
from fakes.smtp_server import FakeSMTPServer
from fakes.telegram_api import FakeTelegramAPI
from pgcluster import PgCluster, find_bindir

SMTP_USER = "nhachan@example.gov.vn"
SMTP_PASSWORD = "S3cret-smtp-pässwörd"


@pytest.fixture
def smtp_server() -> Iterator[FakeSMTPServer]:
    """A plain SMTP server (no TLS, no AUTH) on 127.0.0.1."""
    with FakeSMTPServer() as server:
        yield server


@pytest.fixture
def smtp_tls_server() -> Iterator[FakeSMTPServer]:
    """STARTTLS (required, trustme CA at `.ca_pem`) + AUTH for SMTP_USER / SMTP_PASSWORD."""
    with FakeSMTPServer(security="starttls", auth=(SMTP_USER, SMTP_PASSWORD)) as server:
        yield server


@pytest.fixture
async def telegram_api() -> AsyncIterator[FakeTelegramAPI]:
    """A fake Bot API in the test's event loop; `.base_url` and `.token` to reach it."""
    async with FakeTelegramAPI() as api:
        yield api


@pytest.fixture(autouse=True, scope="session")
def _holiday_cache_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep the holiday cache (reminder.vnholidays) of tests and their subprocesses in /tmp."""
    mp = pytest.MonkeyPatch()
    mp.setenv("REMINDER_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    yield
    mp.undo()


# -- ledger back-ends ---------------------------------------------------------------------

BACKENDS = ("sqlite", "postgresql")


def in_ci() -> bool:
    """CI=true (GitHub Actions, GitLab, .ci/run): PostgreSQL tests must run, not skip."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def start_cluster() -> PgCluster:
    """A new throw-away cluster; skip (outside CI) when PostgreSQL is not installed.

    In CI a missing or unstartable PostgreSQL fails the test. Outside CI a missing one is a
    one-line skip, so the README's test command passes on a fresh machine; an installed one
    that does not start is a failure everywhere (it is a real problem worth seeing).
    """
    bindir, why = find_bindir()
    if bindir is None:
        if in_ci():
            pytest.fail(f"CI: the PostgreSQL tests must run, but {why}", pytrace=False)
        pytest.skip(why)
    try:
        return PgCluster.create(bindir)
    except Exception as exc:
        pytest.fail(f"PostgreSQL is installed but cannot start: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """One PostgreSQL cluster for the whole session on 127.0.0.1 (password authentication)."""
    cluster = start_cluster()
    yield cluster
    cluster.destroy()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each test that uses it runs once on SQLite and once on PostgreSQL."""
    name: str = request.param
    return name


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """An empty ledger database on `backend`: a SQLite file in tmp_path, or a new PostgreSQL
    database (its URL holds the password: pass it only to Ledger, never to a config file)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    return cluster.url(cluster.new_database())


# -- the daemon as a real subprocess (tests/daemon_harness.py) --------------------------------


@pytest.fixture
def smtp() -> Iterator[TimedSMTPServer]:
    """A plain SMTP server on 127.0.0.1 that records receipt times."""
    with TimedSMTPServer() as server:
        yield server


@pytest.fixture
def notify() -> Iterator[FakeNotifySocket]:
    """A stand-in for systemd's NOTIFY_SOCKET."""
    with FakeNotifySocket() as sock:
        yield sock


@pytest.fixture
def spawn() -> Iterator[Spawn]:
    """Start daemons; every one still running at teardown is killed."""
    started: list[DaemonProcess] = []

    def start(config: Path, now: datetime | None, **kwargs: Any) -> DaemonProcess:
        daemon = DaemonProcess(config, now, **kwargs)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.close()
