"""A throw-away PostgreSQL cluster on 127.0.0.1 for the tests (Debian's `postgresql` package).

`PgCluster.create()` runs initdb in a fresh temporary folder and starts the server on a free
127.0.0.1 port with password (scram-sha-256) authentication, so the tests go through the
same password path as production. Debian puts initdb and pg_ctl in
/usr/lib/postgresql/<version>/bin; both refuse to run as root, so as root they run as the
`postgres` user (`runuser -u postgres`), in a folder that user owns. Durability is turned off
(fsync, synchronous_commit, full_page_writes): a test cluster is thrown away anyway.

`find_bindir()` says where PostgreSQL is, or why it is not usable here (one line).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SUPERUSER = "reminder_test"


def find_bindir() -> tuple[Path | None, str]:
    """(the newest /usr/lib/postgresql/<ver>/bin with pg_ctl, "") or (None, why not)."""
    env = os.environ.get("REMINDER_PG_BINDIR")
    found = [Path(env)] if env else []
    found += sorted(
        (Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    which = shutil.which("pg_ctl")
    if which:
        found.append(Path(which).parent)
    for bindir in found:
        if (bindir / "pg_ctl").exists() and (bindir / "initdb").exists():
            if os.geteuid() == 0:
                try:
                    pwd.getpwnam("postgres")
                except KeyError:
                    return None, "running as root and there is no postgres user to run PostgreSQL"
            return bindir, ""
    return None, "PostgreSQL is not installed (no pg_ctl; Debian: apt-get install postgresql)"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class PgCluster:
    """One initdb'd data folder and its server. `url(db)` is a SQLAlchemy URL with password."""

    def __init__(self, bindir: Path, folder: Path, port: int, password: str) -> None:
        self.bindir = bindir
        self.folder = folder
        self.data = folder / "data"
        self.port = port
        self.password = password
        self.user = SUPERUSER
        self._counter = 0

    # -- life cycle -----------------------------------------------------------------------

    @classmethod
    def create(cls, bindir: Path) -> PgCluster:
        """initdb in a new temporary folder and start the server on a free port."""
        folder = Path(tempfile.mkdtemp(prefix="reminder-pg-"))
        cluster = cls(bindir, folder, free_port(), secrets.token_urlsafe(16))
        try:
            cluster._initdb()
            cluster.start()
        except BaseException:
            cluster.destroy()
            raise
        return cluster

    def _as_owner(self, *args: str) -> list[str]:
        """The command, through `runuser -u postgres` when we are root."""
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *args]
        return list(args)

    def _run(self, *args: str, timeout: float = 60) -> None:
        done = subprocess.run(
            self._as_owner(*args),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise RuntimeError(
                f"{Path(args[0]).name} failed ({done.returncode}): {' | '.join(tail)}"
            )

    def _initdb(self) -> None:
        pwfile = self.folder / "pw"
        pwfile.write_text(self.password + "\n")
        if os.geteuid() == 0:
            pg = pwd.getpwnam("postgres")
            for path in (self.folder, pwfile):
                os.chown(path, pg.pw_uid, pg.pw_gid)
        pwfile.chmod(0o600)
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            self.user,
            f"--pwfile={pwfile}",
            "--auth-host=scram-sha-256",
            "--auth-local=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        pwfile.unlink()
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.folder}'",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
            "shared_buffers": "32MB",
            "log_min_messages": "warning",
        }
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.writelines(f"{k} = {v}\n" for k, v in settings.items())

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        log = self.folder / "server.log"
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(log), "-w", "start")

    def stop(self) -> None:
        """Stop the server now (fast shutdown: open connections are cut)."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def running(self) -> bool:
        done = subprocess.run(
            self._as_owner(str(self.bindir / "pg_ctl"), "-D", str(self.data), "status"),
            capture_output=True,
            check=False,
        )
        return done.returncode == 0

    def destroy(self) -> None:
        """Stop the server (if it runs) and remove the folder."""
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self._run(
                    str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"
                )
        shutil.rmtree(self.folder, ignore_errors=True)

    # -- databases ------------------------------------------------------------------------

    def url(self, database: str = "postgres", *, password: bool = True) -> str:
        """postgresql+psycopg://reminder_test[:password]@127.0.0.1:PORT/database."""
        auth = f"{self.user}:{self.password}" if password else self.user
        return f"postgresql+psycopg://{auth}@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str, database: str = "postgres") -> None:
        """Run one statement in autocommit (CREATE DATABASE cannot run in a transaction)."""
        import psycopg

        with psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=database,
            autocommit=True,
        ) as conn:
            conn.execute(sql)

    def new_database(self, prefix: str = "t") -> str:
        """Create an empty database with a new name; return the name."""
        self._counter += 1
        name = f"{prefix}_{os.getpid()}_{self._counter}_{int(time.time() * 1000) % 100000}"
        self.execute(f'CREATE DATABASE "{name}" STRATEGY FILE_COPY')  # fast with fsync off
        return name
