"""Shared fixtures: the local SMTP server and the fake Telegram Bot API (tests/fakes/)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fakes.smtp_server import FakeSMTPServer

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
