"""Alembic environment for the ledger.

Two ways in:
- `Ledger.migrate()` passes its own connection in `config.attributes["connection"]` (no
  alembic.ini is needed at runtime, and the caller owns the transaction);
- the `alembic` command line (alembic.ini at the repository root) uses, in this order,
  `-x url=…`, the REMINDER_ALEMBIC_URL environment variable, then `sqlalchemy.url`, which is
  an in-memory SQLite scratch database. The scratch database starts empty at every command,
  so it is first brought to head here: `alembic check` and `alembic revision --autogenerate`
  then compare the models with what the migrations build, and nothing is left on disk.
  A database given by URL is never upgraded behind your back.
"""

from __future__ import annotations

import os
from logging.config import fileConfig

import sqlalchemy as sa
from alembic import context
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import reminder.ledger  # noqa: F401  (registers the tables on SQLModel.metadata)

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = SQLModel.metadata


def _url() -> str:
    url = (
        context.get_x_argument(as_dictionary=True).get("url")
        or os.environ.get("REMINDER_ALEMBIC_URL")
        or config.get_main_option("sqlalchemy.url")
    )
    if not url:
        raise SystemExit("no database URL: pass -x url=… or set REMINDER_ALEMBIC_URL")
    return url


def _configure(**kwargs: object) -> None:
    context.configure(
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite cannot ALTER much: batch mode copies the table
        compare_type=True,
        **kwargs,  # type: ignore[arg-type]
    )


def _is_scratch(url: str) -> bool:
    u = sa.engine.make_url(url)
    return u.get_backend_name() == "sqlite" and u.database in (None, "", ":memory:")


def _scratch_to_head(connection: sa.Connection) -> None:
    """Apply every migration to the empty in-memory database (as `alembic upgrade head`)."""
    script = ScriptDirectory.from_config(config)
    mc = MigrationContext.configure(
        connection,
        opts={
            "script": script,
            "fn": lambda rev, _ctx: script._upgrade_revs("head", rev),  # as command.upgrade
            "render_as_batch": True,
            "target_metadata": target_metadata,
        },
    )
    with Operations.context(mc), mc.begin_transaction():
        mc.run_migrations()


def run_migrations_offline() -> None:
    """Emit the SQL instead of running it (`alembic upgrade head --sql`)."""
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run against a live database: the connection given by Ledger.migrate, or a new one."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = _url()
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        if _is_scratch(url):
            _scratch_to_head(connection)
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
