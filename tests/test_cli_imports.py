"""Commands import only what they use: a check a person runs by hand needs no database
libraries (SQLAlchemy, SQLModel, alembic: two thirds of a start-up)."""

from __future__ import annotations

from pathlib import Path

from helpers import copy_shipped, run_without_database_stack


def test_send_test_to_the_outbox_imports_no_database_stack(tmp_path: Path) -> None:
    """`send-test email ADDR` (the shipped outbox transport) writes its one message without
    importing the ledger's libraries: the channels are made in reminder.channels."""
    config = copy_shipped(tmp_path)
    sent = run_without_database_stack(config, "send-test", "email", "vanthu@tinh.example")
    assert sent.stdout.startswith("sent to vanthu@tinh.example via email")
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
