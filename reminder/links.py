"""Signed tokens: e-mail confirmation links, Telegram button data, calendar feed keys, forms.

Everything an agency sends back (a link it clicks, a button it presses, a feed it polls, a
form it posts) carries a token made here with the `[web]` signing secret, and is checked here
before anything else looks at it. Each purpose has its own salt, so a token made for one
purpose is refused for every other (a feed key is not a confirmation link).

- Confirmation link: the deadline (task, occurrence, milestone), the agency it was sent to and
  the last day it is valid (by default 90 days after the deadline), signed with
  itsdangerous' URL-safe serializer. Its expiry is a date in the payload, not the signing
  time, so a link stays valid across restarts and re-sends, and `today` is an argument.
- Button data: Telegram allows 64 bytes, so it reads `d|<task number>|<occurrence>|<milestone
  id>` plus a 27-character HMAC-SHA1 signature (itsdangerous' `Signer`); a milestone id too
  long for that is replaced by its position (`#2`). Forging another task's data needs the
  secret.
- Feed key: the signature of the agency id (no expiry; rotate the secret to revoke).
- Form (CSRF) tokens: timed, made and checked by the web server (viewer sessions are kept
  by the server itself: reminder.web.sessions).

A refused token raises LinkError with `reason` "invalid" (altered, another secret, another
purpose) or "expired"; the message never contains the token or the secret.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from itsdangerous import BadData, BadSignature, Signer, URLSafeSerializer, URLSafeTimedSerializer
from itsdangerous.exc import SignatureExpired

from reminder.model import Task, TelegramSettings, WebSettings

__all__ = ["AnswerLinks", "ButtonPress", "Confirmation", "LinkError", "Links"]

BUTTON_LIMIT = 64  # bytes of callback_data the Bot API accepts
Action = Literal["done", "ack"]
_ACTION_CODES: dict[str, Action] = {"d": "done", "r": "ack"}
_CODES = {v: k for k, v in _ACTION_CODES.items()}


class LinkError(Exception):
    """A token that is refused. `reason`: "invalid" or "expired"."""

    def __init__(self, reason: Literal["invalid", "expired"], what: str) -> None:
        super().__init__(f"{what}: {'expired' if reason == 'expired' else 'invalid signature'}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Confirmation:
    """What a confirmation link is for."""

    task_id: str
    occurrence: str
    milestone_id: str
    agency: str  # the agency the link was sent to
    expires: date  # the last day the link is accepted


@dataclass(frozen=True, slots=True)
class ButtonPress:
    """What a Telegram button's data says. `milestone` is an id, or "#n" (0-based position)."""

    action: Action
    task: str  # the task's name ("<plan>/<number>"); a bare number in older buttons
    occurrence: str
    milestone: str


class Links:
    """Makes and checks the signed tokens of one signing secret."""

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("a signing secret is needed")
        self._secret = secret
        self._confirm = URLSafeSerializer(secret, salt="nhachan/xac-nhan")
        self._button = Signer(secret, salt="nhachan/telegram-nut")
        self._feed = Signer(secret, salt="nhachan/lich")
        self._form = URLSafeTimedSerializer(secret, salt="nhachan/form")

    # -- confirmation links -----------------------------------------------------------------

    def confirmation(self, c: Confirmation) -> str:
        """The token of a confirmation link (URL-safe, goes after /xac-nhan/)."""
        payload = [c.task_id, c.occurrence, c.milestone_id, c.agency, c.expires.isoformat()]
        return str(self._confirm.dumps(payload))

    def read_confirmation(self, token: str, today: date) -> Confirmation:
        """The confirmation a token stands for; LinkError when altered, foreign or expired."""
        try:
            data: Any = self._confirm.loads(token)
            task_id, occurrence, milestone_id, agency, expires = data
            c = Confirmation(task_id, occurrence, milestone_id, agency, date.fromisoformat(expires))
        except (BadData, ValueError, TypeError):
            raise LinkError("invalid", "confirmation link") from None
        if today > c.expires:
            raise LinkError("expired", "confirmation link")
        return c

    # -- Telegram buttons -------------------------------------------------------------------

    def button(self, action: Action, task: str, occurrence: str, milestone: str) -> str:
        """Signed callback data, at most 64 bytes (see the module docstring)."""
        data = self._button_data(action, task, occurrence, milestone)
        if len(data.encode()) > BUTTON_LIMIT:
            raise ValueError(f"button data longer than {BUTTON_LIMIT} bytes: {occurrence!r}")
        return data

    def _button_data(self, action: Action, task: str, occurrence: str, milestone: str) -> str:
        return self._button.sign(f"{_CODES[action]}|{task}|{occurrence}|{milestone}").decode()

    def button_fits(self, task: str, occurrence: str, milestone: str) -> bool:
        """Whether the data with this milestone id fits in 64 bytes."""
        data = self._button_data("done", task, occurrence, milestone)
        return len(data.encode()) <= BUTTON_LIMIT

    def read_button(self, data: str) -> ButtonPress:
        """What a pressed button's data says; LinkError when it was not signed here."""
        try:
            raw = self._button.unsign(data).decode()
            code, task, occurrence, milestone = raw.split("|")
            if not task:
                raise ValueError("no task")
            return ButtonPress(_ACTION_CODES[code], task, occurrence, milestone)
        except (BadSignature, ValueError, KeyError, UnicodeDecodeError):
            raise LinkError("invalid", "button data") from None

    # -- calendar feeds ---------------------------------------------------------------------

    def feed_key(self, agency: str) -> str:
        """The `k=` key of an agency's calendar feed."""
        return self._feed.get_signature(agency).decode()

    def check_feed_key(self, agency: str, key: str) -> None:
        """LinkError unless `key` is this agency's feed key."""
        if not self._feed.verify_signature(agency, key):
            raise LinkError("invalid", "calendar feed key")

    # -- forms (timed; checked by the web server) --------------------------------------------

    def form_token(self, bound_to: str) -> str:
        """A CSRF token for a form bound to `bound_to` (a link token or a session)."""
        return str(self._form.dumps(_digest(bound_to)))

    def check_form_token(self, token: str, bound_to: str, max_age: int) -> None:
        """LinkError unless `token` was made for `bound_to` within `max_age` seconds."""
        try:
            value = self._form.loads(token, max_age=max_age)
        except SignatureExpired:
            raise LinkError("expired", "form token") from None
        except BadData:
            raise LinkError("invalid", "form token") from None
        if not isinstance(value, str) or not hmac.compare_digest(value, _digest(bound_to)):
            raise LinkError("invalid", "form token")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison of a typed password with the configured one."""
    return hmac.compare_digest(given.encode(), expected.encode())


@dataclass(frozen=True, slots=True)
class AnswerLinks:
    """What the renderer needs to let an agency answer: confirmation URLs in e-mails (when
    `public_url` is set) and signed button data in Telegram messages (when `buttons`)."""

    links: Links
    public_url: str | None
    link_days: int = 90
    buttons: bool = False

    @classmethod
    def of(cls, web: WebSettings | None, telegram: TelegramSettings | None) -> AnswerLinks | None:
        """From the settings: None without a signing secret (no links, no buttons)."""
        if web is None:
            return None
        poll = telegram is not None and telegram.poll
        return cls(Links(web.secret), web.public_url, web.link_days, poll)

    def confirm_url(
        self, task_id: str, occurrence: str, milestone_id: str, agency: str, deadline: date
    ) -> str:
        """The confirmation link of one deadline for `agency`; "" without a public URL."""
        if not self.public_url:
            return ""
        expires = deadline + timedelta(days=self.link_days)
        token = self.links.confirmation(
            Confirmation(task_id, occurrence, milestone_id, agency, expires)
        )
        return f"{self.public_url}/xac-nhan/{token}"

    def button_data(self, task: Task, occurrence: str, milestone_id: str) -> tuple[str, str]:
        """(done, received) callback data for one deadline of `task`."""
        ref, milestone = task.name, milestone_id
        if not self.links.button_fits(ref, occurrence, milestone):
            milestone = f"#{[m.id for m in task.milestones].index(milestone_id)}"
        if not self.links.button_fits(ref, occurrence, milestone):
            ref = task_digest(task.id)  # a long plan id: the task's short digest instead
        return (
            self.links.button("done", ref, occurrence, milestone),
            self.links.button("ack", ref, occurrence, milestone),
        )


def task_digest(task_id: str) -> str:
    """A short stand-in for a task's name in button data: "~" and 8 characters."""
    return "~" + hashlib.sha256(task_id.encode()).hexdigest()[:8]
