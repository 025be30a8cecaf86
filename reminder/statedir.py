"""Who owns the service's state folder, and whether this process may write into it.

The service writes only its ledger (a SQLite file with its -wal/-shm companions) and, when a
channel writes to the outbox, the outbox folder. A command run by hand as another user —
typically root — would create files there (a new ledger, `outbox/`, a .eml) that the service's
own user cannot write afterwards: every reminder would then fail with "Permission denied".
So commands that write there first ask `foreign_owner` and refuse with one line.
"""

from __future__ import annotations

import os
import pwd
import stat
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Foreign", "foreign_owner", "refusal", "sqlite_path", "written_paths"]


@dataclass(frozen=True, slots=True)
class Foreign:
    """`path` (what the command would write, or its nearest existing folder) belongs to `uid`."""

    path: Path
    uid: int


def sqlite_path(database_url: str) -> Path | None:
    """The file of a `sqlite:///…` ledger URL; None for another database or `:memory:`."""
    prefix = "sqlite:///"
    if not database_url.startswith(prefix) or database_url == prefix + ":memory:":
        return None
    return Path(database_url[len(prefix) :].split("?", 1)[0])


def written_paths(database_url: str | None, outbox: Path | None) -> list[Path]:
    """The paths a command writes: the SQLite ledger file (if SQLite) and the outbox folder."""
    paths = [sqlite_path(database_url)] if database_url else []
    return [p for p in [*paths, outbox] if p is not None]


def foreign_owner(paths: list[Path], euid: int) -> Foreign | None:
    """The first of `paths` that belongs to a user other than `euid`.

    A path that does not exist yet is judged by its nearest existing folder, where it would
    be created — unless that folder is a shared sticky one such as /tmp, where every user
    keeps their own files. A path this process cannot even look at is left to the command
    itself (it will fail with its own error)."""
    for path in paths:
        found = _nearest_existing(path)
        if found is None:
            continue
        where, st = found
        if where != path and st.st_mode & stat.S_ISVTX:
            continue
        if st.st_uid != euid:
            return Foreign(where, st.st_uid)
    return None


def _nearest_existing(path: Path) -> tuple[Path, os.stat_result] | None:
    where = path.absolute()
    while True:
        try:
            return where, where.stat()
        except FileNotFoundError:
            if where.parent == where:
                return None
            where = where.parent
        except OSError:
            return None


def refusal(found: Foreign, euid: int) -> str:
    """The one-line explanation for a command that refuses to write."""
    return (
        f"{found.path} belongs to {_user(found.uid)}, but this command runs as {_user(euid)}: "
        "files it created there could not be written by the service afterwards. Run it as "
        f"{_user(found.uid)} (on the server: reminder-as-service …, see docs/install.md)"
    )


def _user(uid: int) -> str:
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"
