"""Shared fixtures: the local SMTP server, the fake Telegram Bot API (tests/fakes/), and the
two ledger back-ends (SQLite file, throw-away PostgreSQL cluster from tests/pgcluster.py).

The suite runs under pytest-xdist (`-n auto` in pyproject.toml): every test file runs in
one of several worker processes, and a session-scoped fixture is made once per worker.
Tests therefore must not share state through fixed file names or ports: use tmp_path and
port 0 / pgcluster.free_port(). `uv run pytest -n 0 ...` runs in one process (pdb, -s).

What a test can ask for (see each fixture's docstring):

- `pg_cluster`   one PostgreSQL cluster per worker (session): `new_database()` per test;
- `db_url`       with the `backend` parameter: each test on SQLite and on PostgreSQL;
- `smtp_server`, `smtp_tls_server`, `smtp`: a loopback SMTP server per test (cheap: a
  thread), so that what a test reads in `.messages` is only its own;
- `telegram_api` a fake Bot API in the test's event loop;
- `spawn`        daemons as subprocesses (tests/daemon_harness.py), killed at teardown;
- `notify`       a stand-in for systemd's NOTIFY_SOCKET.

Autouse: the holiday cache in a temporary folder (session), and the logging set-up that
`reminder.cli.main` installs undone after each test (it writes to the test's captured
stderr, which pytest closes: left in place, a later test's log record would print a
"--- Logging error --- ValueError: I/O operation on closed file" traceback).

Bytecode: under PYTHONDONTWRITEBYTECODE the workers and every Python subprocess share one
bytecode cache in .pytest_cache/d/pycache (share_bytecode), instead of each compiling
SQLAlchemy, alembic … from source again.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Iterator, MutableMapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from daemon_harness import DaemonProcess, Spawn, TimedSMTPServer
from fakes import patient
from fakes.notify_socket import FakeNotifySocket
from fakes.smtp_server import FakeSMTPServer
from fakes.telegram_api import FakeTelegramAPI
from pgcluster import PgCluster, find_bindir
from slowfirst import DURATIONS, Timings, slowest_first

from reminder.logs import NOISY_LOGGERS, _ReminderHandler

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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The slowest tests first (tests/slowfirst.py). A test's own `@pytest.mark.timeout(N)`
    becomes N x PATIENCE (tests/fakes): like the waits inside it, it bounds a hung test, not
    the speed of a loaded machine."""
    slowest_first(items, _known_durations(config))
    for item in items:
        mark = item.get_closest_marker("timeout")
        if mark is not None and mark.args:
            item.add_marker(pytest.mark.timeout(patient(mark.args[0])), append=False)


def _known_durations(config: pytest.Config) -> dict[str, float]:
    """The durations of the last runs: a worker's copy from the controller, else the cache."""
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is not None:
        return dict(workerinput.get(DURATIONS, {}))
    cache: pytest.Cache | None = getattr(config, "cache", None)  # None: -p no:cacheprovider
    return dict(cache.get(DURATIONS, {})) if cache is not None else {}


def pytest_configure(config: pytest.Config) -> None:
    """The controller (or a -n 0 run), before any worker or subprocess starts: one shared
    bytecode cache (share_bytecode)."""
    if not hasattr(config, "workerinput"):
        share_bytecode(config, os.environ)


def share_bytecode(config: pytest.Config, environ: MutableMapping[str, str]) -> None:
    """Under PYTHONDONTWRITEBYTECODE (this machine's environment sets it), every Python
    process the suite starts (the xdist workers, every `reminder` command and daemon of a
    test) compiled SQLAlchemy, alembic, pydantic … from source again: 0.3–1.5 s of CPU
    each, two thirds of a `run --once`. The workers and those subprocesses (they inherit
    `environ`) write and read their bytecode in one folder of .pytest_cache instead
    (PYTHONPYCACHEPREFIX): nothing is written beside the sources, and bytecode is still
    checked against its source file's time and size. An environment that writes bytecode
    anyway, or names its own prefix, is left alone; so is -p no:cacheprovider."""
    cache: pytest.Cache | None = getattr(config, "cache", None)
    if not environ.get("PYTHONDONTWRITEBYTECODE") or "PYTHONPYCACHEPREFIX" in environ:
        return
    if cache is None:
        return
    del environ["PYTHONDONTWRITEBYTECODE"]
    environ["PYTHONPYCACHEPREFIX"] = str(cache.mkdir("pycache"))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: every worker gets the same copy of the durations to sort by."""
    node.workerinput[DURATIONS] = _known_durations(node.config)


_timings = Timings()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Time each test (in the controller, which gets every worker's reports)."""
    _timings.add(report)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The controller (or a -n 0 run) keeps this session's durations for the next one."""
    cache: pytest.Cache | None = getattr(session.config, "cache", None)
    if not hasattr(session.config, "workerinput") and cache is not None:
        _timings.save(cache)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: WORKERS_PER_CPU workers per CPU. Most slow tests wait on a subprocess, a
    server or a browser rather than compute, so more workers than CPUs keep both busy."""
    return WORKERS_PER_CPU * (os.cpu_count() or 1)


WORKERS_PER_CPU = 2


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Undo what `setup_logging` (run by `reminder.cli.main` in-process) did to the root
    logger: its handler on the test's captured stderr, the level, the quieted loggers."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    quiet = {name: logging.getLogger(name).level for name in NOISY_LOGGERS}
    yield
    for handler in root.handlers[:]:  # pytest's own capture handlers come and go: kept
        if isinstance(handler, _ReminderHandler) and handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    for name, saved in quiet.items():
        logging.getLogger(name).setLevel(saved)


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
