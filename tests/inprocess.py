"""`reminder ARGS…` run in the test's own process (reminder.cli.main), for tests about what a
command does rather than about the process (signals, systemd, the interpreter's start).

A `python -m reminder` subprocess costs 0.15–0.7 s of CPU just to start (imports); this
costs only the command's own work. The result looks like subprocess.run's, so a test can
switch between the two. What main() could leave behind for a later test is undone: the
environment variables and working folder it ran with, its logging set-up (the handler on
this call's stderr, the levels), and the secrets it registered for redaction.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from reminder import logs
from reminder.cli import main

# The test's own servers (aiosmtpd's SMTP, aiohttp's fake Bot API) log in this process too;
# their lines are not the command's output.
SERVER_LOGGERS = ("mail.log", "aiohttp")


def run_main(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str | None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """main(argv) with stdout and stderr captured (UTF-8), in `cwd`, with os.environ changed
    by `env` (None: the variable unset) for the call only. A SystemExit (argparse's usage
    errors, --help) is its exit code, as in a process."""
    out, err = _stream(), _stream()
    with _undone(cwd, env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return subprocess.CompletedProcess(list(argv), code, _text(out), _text(err))


def _stream() -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="", write_through=True)


def _text(stream: io.TextIOWrapper) -> str:
    stream.flush()
    buffer = stream.buffer
    assert isinstance(buffer, io.BytesIO)
    return buffer.getvalue().decode("utf-8")


@contextlib.contextmanager
def _undone(cwd: Path | None, env: Mapping[str, str | None] | None) -> Iterator[None]:
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in logs.NOISY_LOGGERS}
    servers = {name: logging.getLogger(name).propagate for name in SERVER_LOGGERS}
    with logs._secrets_lock:
        secrets = set(logs._secrets)
    try:
        for name, value in (env or {}).items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        for name in SERVER_LOGGERS:
            logging.getLogger(name).propagate = False
        if cwd is not None:
            os.chdir(cwd)
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
                handler.close()
        root.setLevel(level)
        for name, saved in levels.items():
            logging.getLogger(name).setLevel(saved)
        for name, propagate in servers.items():
            logging.getLogger(name).propagate = propagate
        with logs._secrets_lock:
            logs._secrets.clear()
            logs._secrets.update(secrets)
