"""Real servers for tests, on 127.0.0.1: an SMTP server (aiosmtpd) and a fake Telegram Bot API
(aiohttp). Nothing here talks to any other address."""

# The timeouts of the waits for an event (a log line, a datagram, a message, a server's
# start) are multiplied by PATIENCE, and so are the tests' own pytest-timeout marks
# (tests/conftest.py). They only bound a hung test: a wait returns at the event, however
# long it was allowed. A loaded machine (xdist workers, a second suite, stress-ng) can be
# several times slower than a quiet one, and no test may fail for that.
PATIENCE = 3.0


def patient(seconds: float) -> float:
    """How long to wait for an event a quiet machine gives within `seconds`."""
    return seconds * PATIENCE
