"""Signed tokens (reminder.links): confirmation links, button data, feed keys, forms, sessions."""

from __future__ import annotations

import time
from datetime import date

import pytest

from reminder.links import ButtonPress, Confirmation, LinkError, Links, same_secret

SECRET = "một-bí-mật-đủ-dài-0123456789"
C = Confirmation("nv01", "2026", "bao-cao", "so-noi-vu", date(2027, 3, 15))


def test_confirmation_round_trip() -> None:
    """A confirmation token reads back as the same deadline, agency and expiry."""
    links = Links(SECRET)
    assert links.read_confirmation(links.confirmation(C), date(2026, 12, 1)) == C


def test_confirmation_valid_on_its_last_day_expired_after() -> None:
    """The link is accepted on its expiry date and refused as "expired" the day after."""
    links = Links(SECRET)
    token = links.confirmation(C)
    assert links.read_confirmation(token, date(2027, 3, 15)) == C
    with pytest.raises(LinkError) as err:
        links.read_confirmation(token, date(2027, 3, 16))
    assert err.value.reason == "expired"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # signature altered
        lambda t: "x" + t[1:],  # payload altered
        lambda t: t.split(".")[0],  # signature cut off
        lambda t: "",
        lambda t: "a.b.c",
    ],
)
def test_altered_confirmation_is_invalid(mangle: object) -> None:
    """Any change to a token makes it "invalid", never another deadline."""
    links = Links(SECRET)
    token = mangle(links.confirmation(C))  # type: ignore[operator]
    with pytest.raises(LinkError) as err:
        links.read_confirmation(token, date(2026, 12, 1))
    assert err.value.reason == "invalid"


def test_other_secret_or_purpose_is_refused() -> None:
    """A token signed with another secret, or for another purpose (a feed key), is refused."""
    token = Links("another-secret-0123456789").confirmation(C)
    with pytest.raises(LinkError):
        Links(SECRET).read_confirmation(token, date(2026, 12, 1))
    links = Links(SECRET)
    with pytest.raises(LinkError):
        links.read_confirmation(links.feed_key("so-noi-vu"), date(2026, 12, 1))
    with pytest.raises(LinkError):
        links.read_button(links.confirmation(C))


def test_error_message_holds_no_token() -> None:
    """The refusal's text says what was refused, not the token or the secret."""
    links = Links(SECRET)
    token = links.confirmation(C) + "x"
    with pytest.raises(LinkError) as err:
        links.read_confirmation(token, date(2026, 12, 1))
    assert token not in str(err.value) and SECRET not in str(err.value)


@pytest.mark.parametrize(
    ("number", "occurrence", "milestone"),
    [
        ("1", "2026", "ke-hoach"),
        ("kh-45-2026/2.1", "2026-Q4", "#3"),
        ("~0123abcd", "trigger-2027-01-15", "#12"),
        ("7", "2027-03-15", "han"),
    ],
)
def test_button_data_fits_and_round_trips(number: str, occurrence: str, milestone: str) -> None:
    """Button data stays within Telegram's 64 bytes and reads back exactly."""
    links = Links(SECRET)
    for action in ("done", "ack"):
        data = links.button(action, number, occurrence, milestone)  # type: ignore[arg-type]
        assert len(data.encode()) <= 64
        assert links.read_button(data) == ButtonPress(action, number, occurrence, milestone)  # type: ignore[arg-type]


def test_forged_button_data_is_refused() -> None:
    """Data naming another task with the first one's signature is refused."""
    links = Links(SECRET)
    data = links.button("done", "1", "2026", "bao-cao")
    payload, sig = data.rsplit(".", 1)
    forged = payload.replace("|1|", "|2|") + "." + sig
    with pytest.raises(LinkError):
        links.read_button(forged)
    with pytest.raises(LinkError):
        links.read_button("d|2|2026|bao-cao")


def test_feed_key_is_per_agency() -> None:
    """An agency's feed key opens its own feed only."""
    links = Links(SECRET)
    links.check_feed_key("so-noi-vu", links.feed_key("so-noi-vu"))
    with pytest.raises(LinkError):
        links.check_feed_key("so-tai-chinh", links.feed_key("so-noi-vu"))


def test_form_token_bound_and_timed() -> None:
    """A CSRF token is valid for its own form only, and expires."""
    links = Links(SECRET)
    token = links.form_token("link-A")
    links.check_form_token(token, "link-A", 60)
    with pytest.raises(LinkError):
        links.check_form_token(token, "link-B", 60)
    time.sleep(1.1)
    with pytest.raises(LinkError) as err:
        links.check_form_token(token, "link-A", 0)
    assert err.value.reason == "expired"


def test_same_secret() -> None:
    """Password comparison: equal strings only (Vietnamese letters included)."""
    assert same_secret("mật khẩu", "mật khẩu")
    assert not same_secret("mat khau", "mật khẩu")
    assert not same_secret("", "x")
