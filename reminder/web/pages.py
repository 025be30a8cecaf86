"""The pages of the built-in web server. Routes and the data their templates need, nothing else.

    GET  /healthz                 scheduler, ledger, channels: 200 healthy, 503 why (no password)
    GET  /dang-nhap, POST          the viewer password (CSRF, limited failures)
    POST /dang-xuat                end the viewer session (server-side: the cookie is void after)
    GET  /                         the status matrix (password): ?nam=2026&co-quan=<agency>
                                   &ke-hoach=<plan>; with several plans, who is late in which
    GET  /nhiem-vu/<task>          one task: deadlines, reminders sent, completion records
    GET  /xac-nhan/<token>         a confirmation link: shows the work and a form; changes nothing
    POST /xac-nhan/<token>         records the completion (CSRF token bound to the link)
    GET  /lich/<agency>.ics?k=…    the agency's calendar feed (signed key)

The wording is in templates/web/. Database and planning work runs in a thread
(`asyncio.to_thread`) so that the daemon's loop, which sends the reminders, never waits for a
page. Refusals (bad link, bad token, wrong password) answer with a Vietnamese page and the
right status, are logged at WARNING (without the token; at most one line per minute per
kind, with a count: reminder.web.refusals) and record nothing.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web
from aiohttp.web_request import FileField
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from multidict import MultiDictProxy

from reminder import status, vnformat
from reminder.config import Settings
from reminder.health import Health
from reminder.ledger import Ledger
from reminder.links import Confirmation, LinkError, Links, same_secret
from reminder.model import Catalog, Deadline, Task
from reminder.occurrences import deadlines
from reminder.planner import first_reminder_day
from reminder.recipients import successor
from reminder.render import default_template_dir
from reminder.web.guard import (
    FORM_COOKIE,
    FORM_MAX_AGE,
    SESSION_COOKIE,
    Handler,
    LoginLimiter,
    client_of,
    forwarded_https,
    refuse,
    same_site_path,
)
from reminder.web.sessions import Sessions
from reminder.workdays import WorkCalendar

log = logging.getLogger("reminder.web")

STATE_ORDER = (
    status.State.OVERDUE,
    status.State.IN_PROGRESS,
    status.State.DONE_LATE,
    status.State.DONE_ON_TIME,
    status.State.WAITING,
)
MAX_FIELD = {"nguoi": 200, "so_van_ban": 500}
FEED_TTL = 60.0  # seconds a built calendar feed is served again before it is rebuilt


@dataclass
class Site:
    """What the pages need: the current settings, the ledger, the clock."""

    settings: Callable[[], Settings]
    ledger: Ledger
    clock: Callable[[], datetime]
    limiter: LoginLimiter
    sessions: Sessions
    health: Health | None = None  # the daemon's view of itself, for /healthz

    def __post_init__(self) -> None:
        self._env: tuple[Path, Environment] | None = None
        self._feeds: dict[str, tuple[float, Settings, bytes]] = {}
        self._feed_locks: dict[str, asyncio.Lock] = {}

    # -- helpers ----------------------------------------------------------------------------

    @property
    def links(self) -> Links:
        web_settings = self.settings().web
        assert web_settings is not None
        return Links(web_settings.secret)

    def env(self) -> Environment:
        """The Jinja2 environment of the current template folder (HTML autoescaped)."""
        folder = self.settings().templates_dir or default_template_dir()
        if self._env is None or self._env[0] != folder:
            env = Environment(
                loader=FileSystemLoader(folder, encoding="utf-8"),
                autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
                undefined=StrictUndefined,
                trim_blocks=True,
                lstrip_blocks=True,
            )
            env.filters.update(ngay=vnformat.ngay, thu=vnformat.thu, ngay_dai=vnformat.ngay_dai)
            env.filters.update(so=vnformat.so, ky=vnformat.ky)
            self._env = (folder, env)
        return self._env[1]

    def page(self, name: str, status_code: int = 200, **context: Any) -> web.Response:
        settings = self.settings()
        context.setdefault("plan", settings.catalog.plan)
        context.setdefault("several_plans", len(settings.catalog.plans) > 1)
        context.setdefault("signed_in", False)
        text = self.env().get_template(f"web/{name}").render(context)
        return web.Response(
            text=vnformat.nfc(text), status=status_code, content_type="text/html", charset="utf-8"
        )

    def today(self) -> date:
        return self.clock().astimezone(self.settings().catalog.calendar.timezone).date()

    def signed_in(self, request: web.Request) -> bool:
        web_settings = self.settings().web
        if web_settings is None or not web_settings.password:
            return False
        return self.sessions.check(request.cookies.get(SESSION_COOKIE, ""), web_settings.password)

    def require_login(self, request: web.Request) -> None:
        if not self.signed_in(request):
            target = quote(request.path_qs, safe="/?=&-")
            raise web.HTTPSeeOther(f"/dang-nhap?tiep={target}")

    def refused(self, request: web.Request, code: int, what: str, reason: str) -> web.Response:
        refuse(request, what)
        return self.page("refused.html", code, reason=reason)

    def secure_cookie(self, request: web.Request) -> bool:
        """Cookies are `Secure` when people reach the pages over https: `public_url` says
        so, or a trusted proxy forwarded the request with X-Forwarded-Proto: https."""
        web_settings = self.settings().web
        https = bool(web_settings and (web_settings.public_url or "").startswith("https://"))
        return https or forwarded_https(request)

    @web.middleware
    async def error_pages(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """aiohttp's own answers (404, 405, 413, 400 …) and an unexpected error (500) as a
        Vietnamese page (templates/web/error.html); an error is logged, never shown."""
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400 or exc.content_type != "text/plain":
                raise
            response = self._error_page(exc.status)
            if "Allow" in exc.headers:
                response.headers["Allow"] = exc.headers["Allow"]
            return response
        except Exception:
            path = "/xac-nhan/…" if request.path.startswith("/xac-nhan/") else request.path
            log.exception("%s %s failed", request.method, path)
            return self._error_page(500)

    def _error_page(self, code: int) -> web.Response:
        try:
            return self.page("error.html", code, code=code)
        except Exception:  # the templates themselves are broken: say it plainly
            log.exception("the error page could not be made")
            return web.Response(text="Hệ thống gặp lỗi.\n", status=code, charset="utf-8")

    # -- routes -----------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/healthz", self.healthz),
            web.get("/static/nhachan.css", self.css),
            web.get("/dang-nhap", self.login_form),
            web.post("/dang-nhap", self.login),
            web.post("/dang-xuat", self.logout),
            web.get("/", self.status_page),
            web.get("/nhiem-vu/{task:.+}", self.task_page),  # a name: "<plan>/<number>"
            web.get("/xac-nhan/{token}", self.confirm_form),
            web.post("/xac-nhan/{token}", self.confirm),
            web.get("/lich/{name}", self.calendar),
        ]

    async def healthz(self, request: web.Request) -> web.Response:
        """ "ok" or "unhealthy: <reasons>" (503), then one line per thing watched. The
        channels' error texts only to the machine itself or a signed-in viewer: the page
        needs no password, and an error may name an address."""
        problems, lines = [], []
        try:
            await asyncio.wait_for(asyncio.to_thread(self._ping), 5)
        except Exception as exc:
            problems.append(f"ledger: unreachable ({type(exc).__name__})")
        if self.health is not None:
            detail = _loopback(client_of(request)) or self.signed_in(request)
            problems += self.health.problems(self.clock(), detail=detail)
            lines = self.health.report(detail=detail)
        head = "unhealthy: " + "; ".join(problems) if problems else "ok"
        text = "\n".join([head, *lines]) + "\n"
        return web.Response(text=text, status=503 if problems else 200)

    def _ping(self) -> None:
        self.ledger.ping()

    async def css(self, request: web.Request) -> web.Response:
        folder = self.settings().templates_dir or default_template_dir()
        text = await asyncio.to_thread((folder / "web" / "nhachan.css").read_text, "utf-8")
        return web.Response(text=text, content_type="text/css", charset="utf-8")

    # -- login ------------------------------------------------------------------------------

    async def login_form(
        self, request: web.Request, *, error: str = "", code: int = 200
    ) -> web.Response:
        nonce = request.cookies.get(FORM_COOKIE) or _nonce()
        response = self.page(
            "login.html",
            code,
            error=error,
            csrf=self.links.form_token(nonce),
            next=same_site_path(request.query.get("tiep", "/")),
        )
        response.set_cookie(
            FORM_COOKIE,
            nonce,
            max_age=FORM_MAX_AGE,
            httponly=True,
            samesite="Strict",
            secure=self.secure_cookie(request),
        )
        return response

    async def login(self, request: web.Request) -> web.Response:
        web_settings = self.settings().web
        client = client_of(request)
        wait = self.limiter.retry_after(client)
        if wait > 0:
            refuse(request, "too many failed logins")
            response = self.page("refused.html", 429, reason="nhieu-lan-sai")
            response.headers["Retry-After"] = str(int(wait) + 1)
            return response
        form = await self._posted(request)
        if form is None:
            return self._error_page(400)
        if not self._form_ok(
            request, str(form.get("csrf", "")), request.cookies.get(FORM_COOKIE, "")
        ):
            return self.refused(request, 403, "login without a valid CSRF token", "bieu-mau")
        password = str(form.get("mat_khau", ""))
        if (
            web_settings is None
            or not web_settings.password
            or not same_secret(password, web_settings.password)
        ):
            self.limiter.failed(client)
            refuse(request, "wrong viewer password")
            return await self.login_form(request, error="sai-mat-khau", code=403)
        self.limiter.succeeded(client)
        self.sessions.close(request.cookies.get(SESSION_COOKIE, ""))
        response = web.HTTPSeeOther(same_site_path(str(form.get("tiep", "/"))))
        # Lax, not Strict: a link to the status page in an e-mail or a chat opens it signed
        # in; what changes anything is a POST, which carries a CSRF token as well.
        response.set_cookie(
            SESSION_COOKIE,
            self.sessions.open(web_settings.password),
            max_age=int(self.sessions.absolute),
            httponly=True,
            samesite="Lax",
            secure=self.secure_cookie(request),
        )
        raise response

    async def logout(self, request: web.Request) -> web.Response:
        form = await self._posted(request)
        if form is None:
            return self._error_page(400)
        if not self._form_ok(
            request, str(form.get("csrf", "")), request.cookies.get(SESSION_COOKIE, "")
        ):
            return self.refused(request, 403, "logout without a valid CSRF token", "bieu-mau")
        self.sessions.close(request.cookies.get(SESSION_COOKIE, ""))
        response = web.HTTPSeeOther("/dang-nhap")
        response.del_cookie(SESSION_COOKIE, secure=self.secure_cookie(request), samesite="Lax")
        raise response

    async def _posted(
        self, request: web.Request
    ) -> MultiDictProxy[str | bytes | bytearray | FileField] | None:
        """The POSTed form, or None (refused, logged) when it cannot be read as one: bytes
        that are not UTF-8, a malformed multipart body. Too large: aiohttp's 413."""
        try:
            return await request.post()
        except (ValueError, AssertionError):  # UnicodeDecodeError is a ValueError
            refuse(request, "form that cannot be read")
            return None

    def _form_ok(self, request: web.Request, token: str, bound_to: str) -> bool:
        if not token or not bound_to:
            return False
        try:
            self.links.check_form_token(token, bound_to, FORM_MAX_AGE)
        except LinkError:
            return False
        return True

    # -- status -----------------------------------------------------------------------------

    async def status_page(self, request: web.Request) -> web.Response:
        self.require_login(request)
        settings = self.settings()
        today = self.today()
        year = _int(request.query.get("nam", ""), today.year, 1990, 2100)
        agency = request.query.get("co-quan", "")
        if agency and agency not in settings.catalog.agencies:
            agency = ""
        plan = request.query.get("ke-hoach", "")
        if plan not in settings.catalog.plans:
            plan = ""
        data = await asyncio.to_thread(self._status, settings, year, agency, plan)
        return self.page(
            "status.html",
            signed_in=True,
            csrf=self.links.form_token(request.cookies.get(SESSION_COOKIE, "")),
            year=year,
            years=range(today.year - 2, today.year + 3),
            agency=agency,
            agencies=_lead_agencies(settings.catalog),
            plan_id=plan,
            plans=settings.catalog.plans,
            agency_names={a.id: a.name for a in settings.catalog.agencies.values()},
            today=today,
            labels=status.LABELS,
            states=STATE_ORDER,
            **data,
        )

    def _status(self, settings: Settings, year: int, agency: str, plan: str) -> dict[str, Any]:
        """The year's items (one agency's, one plan's, or all), the matrix of them, and,
        with several plans, the office's view: each plan's counts and who is late in it."""
        catalog = settings.catalog
        cal = WorkCalendar(catalog.calendar)
        found = status.period_deadlines(catalog, date(year, 1, 1), date(year, 12, 31), cal)
        items = status.classify(catalog, found, self.ledger.completions.current(), self.clock())
        if agency:
            items = [i for i in items if i.counted_for == agency or i.agency == agency]
        plan_rows = status.by_plan(catalog, items) if len(catalog.plans) > 1 else []
        late_in = status.late_plans(items) if len(catalog.plans) > 1 and not plan else {}
        if plan:
            items = [i for i in items if i.plan == plan]
        rows = status.matrix(catalog, items)
        order = {s: n for n, s in enumerate(STATE_ORDER)}
        items.sort(key=lambda i: (order[i.state], i.deadline or date.max, i.task_number))
        return {
            "rows": rows,
            "total": status.totals(rows),
            "items": items,
            "plan_rows": plan_rows,
            "late_in": late_in,
        }

    # -- one task ---------------------------------------------------------------------------

    async def task_page(self, request: web.Request) -> web.Response:
        self.require_login(request)
        settings = self.settings()
        try:
            task = settings.catalog.task(request.match_info["task"])
        except LookupError:  # unknown, or a bare number several plans have
            return self.page("refused.html", 404, reason="khong-co-nhiem-vu")
        data = await asyncio.to_thread(self._task, settings, task)
        return self.page(
            "task.html",
            signed_in=True,
            csrf=self.links.form_token(request.cookies.get(SESSION_COOKIE, "")),
            task=task,
            task_plan=settings.catalog.plan_of(task),
            labels=status.LABELS,
            lead=status.agency_label(settings.catalog, task.lead),
            supports=[status.agency_label(settings.catalog, a) for a in task.support],
            **data,
        )

    def _task(self, settings: Settings, task: Task) -> dict[str, Any]:
        catalog = settings.catalog
        cal = WorkCalendar(catalog.calendar)
        today = self.today()
        first, last = date(today.year - 1, 1, 1), date(today.year + 1, 12, 31)
        found = deadlines(task, cal, first, last, catalog.calendar.day_off_rule)
        current = self.ledger.completions.current(task.id)
        items = [
            i
            for i in status.classify(catalog, found, current, self.clock())
            if i.task_id == task.id
        ]
        return {
            "items": items,
            "events": self.ledger.completions.events(task.id),
            "acks": self.ledger.replies.acknowledgements(task.id),
            "deliveries": self.ledger.history(task_id=task.id, limit=300),
            "tz": catalog.calendar.timezone,
        }

    # -- confirmation links -----------------------------------------------------------------

    def _read_link(self, request: web.Request) -> Confirmation | web.Response:
        token = request.match_info["token"]
        try:
            return self.links.read_confirmation(token, self.today())
        except LinkError as exc:
            code = 410 if exc.reason == "expired" else 403
            return self.refused(request, code, str(exc), "het-han" if code == 410 else "sai-chu-ky")

    async def _linked_work(
        self, request: web.Request
    ) -> tuple[Confirmation, dict[str, Any]] | web.Response:
        """The verified link and the work it is for, or the refusal page (403/410)."""
        link = self._read_link(request)
        if isinstance(link, web.Response):
            return link
        found = await asyncio.to_thread(self._work, link)
        if found is None:
            return self.refused(
                request, 410, "confirmation link for work no longer planned", "khong-con"
            )
        return link, found

    async def confirm_form(self, request: web.Request) -> web.Response:
        linked = await self._linked_work(request)
        if isinstance(linked, web.Response):
            return linked
        _, found = linked
        return self.page(
            "confirm.html",
            **found,
            csrf=self.links.form_token(request.match_info["token"]),
            error="",
            form={"ngay": vnformat.ngay(self.today()), "so_van_ban": "", "nguoi": ""},
        )

    async def confirm(self, request: web.Request) -> web.Response:
        linked = await self._linked_work(request)
        if isinstance(linked, web.Response):
            return linked
        link, found = linked
        form = await self._posted(request)
        if form is None:
            return self._error_page(400)
        if not self._form_ok(request, str(form.get("csrf", "")), request.match_info["token"]):
            return self.refused(request, 403, "confirmation without a valid CSRF token", "bieu-mau")
        values = {k: str(form.get(k, "")).strip() for k in ("ngay", "so_van_ban", "nguoi")}
        error, done_on, limits = self._check_form(found, values)
        if error:
            return self.page(
                "confirm.html",
                400,
                **found,
                **limits,
                csrf=str(form.get("csrf")),
                error=error,
                form={k: _echo(v, MAX_FIELD.get(k, 20)) for k, v in values.items()},
            )
        if found["done"] is not None:
            return self._confirmed(found, already=True)
        assert done_on is not None
        agency_name = settings_agency_name(self.settings().catalog, link.agency)
        first = await asyncio.to_thread(
            self.ledger.completions.record_first,
            link.task_id,
            link.occurrence,
            link.milestone_id,
            done_on,
            by=f"{values['nguoi']} ({agency_name}, qua liên kết e-mail)",
            ref=values["so_van_ban"],
            now=self.clock(),
        )
        after = await asyncio.to_thread(self._work, link)
        assert after is not None
        return self._confirmed(after, already=not first.new)

    def _confirmed(self, found: dict[str, Any], *, already: bool) -> web.Response:
        """The page after a submission: the record made, or the one found (who and when)."""
        done = found["done"]
        zone = self.settings().catalog.calendar.timezone
        at = done.recorded_at.astimezone(zone) if done is not None else None
        return self.page("confirmed.html", **found, already=already, at=at)

    def _check_form(
        self, found: dict[str, Any], values: dict[str, str]
    ) -> tuple[str, date | None, dict[str, date]]:
        """(error, done_on, dates the error message needs): error '' when the form is good."""
        if any(len(v) > MAX_FIELD.get(k, 20) for k, v in values.items()):
            return "qua-dai", None, {}
        if any(_unprintable(v) for v in values.values()):
            return "ky-tu", None, {}
        if not values["nguoi"]:
            return "thieu-nguoi", None, {}
        done_on = _date(values["ngay"])
        if done_on is None:
            return "sai-ngay", None, {}
        task, occurrence = found["task"], found["deadline"].occurrence
        catalog = self.settings().catalog
        today = self.today()
        first = first_reminder_day(catalog, task, occurrence, WorkCalendar(catalog.calendar))
        try:
            status.check_done(
                task, occurrence, None, done_on, today, first_reminder=first, answer_back=True
            )
        except status.TooEarly as exc:
            return "chua-den-ky", None, {"opens": exc.opens}
        except status.Refused:
            occ = status.find_occurrence(task, occurrence, today)
            earliest = None if occ is None else status.earliest_done(occ, first, today)
            limits = {"today": today} | ({"earliest": earliest} if earliest else {})
            return "ngay-khong-hop-le", None, limits
        return "", done_on, {}

    def _work(self, link: Confirmation) -> dict[str, Any] | None:
        """The task, milestone, deadline and current completion a link is for; None when the
        configuration no longer has that work."""
        catalog = self.settings().catalog
        try:
            task = catalog.task(link.task_id)
        except KeyError:
            return None
        milestone = next((m for m in task.milestones if m.id == link.milestone_id), None)
        deadline = find_deadline(catalog, task, link.occurrence, link.milestone_id)
        if milestone is None or deadline is None or link.agency not in catalog.agencies:
            return None
        current = self.ledger.completions.current(task.id)
        done = current.get((task.id, link.occurrence, link.milestone_id)) or current.get(
            (task.id, link.occurrence, "")
        )
        return {
            "task": task,
            "milestone": milestone,
            "deadline": deadline,
            "agency": status.agency_label(catalog, link.agency),
            "done": done,
        }

    # -- calendar feeds ---------------------------------------------------------------------

    async def calendar(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        settings = self.settings()
        agency = name.removesuffix(".ics")
        if not name.endswith(".ics") or agency not in settings.catalog.agencies:
            return self.refused(request, 404, "calendar feed of an unknown agency", "khong-co-lich")
        try:
            self.links.check_feed_key(agency, request.query.get("k", ""))
        except LinkError as exc:
            return self.refused(request, 403, str(exc), "sai-chu-ky")
        body = await self._cached_feed(settings, agency)
        return web.Response(
            body=body,
            content_type="text/calendar",
            charset="utf-8",
            headers={"Content-Disposition": f'inline; filename="{agency}.ics"'},
        )

    async def _cached_feed(self, settings: Settings, agency: str) -> bytes:
        """The agency's feed, built at most once per FEED_TTL seconds (and per settings): a
        calendar polling often, or a client hammering the address, costs one build, so the
        planning done for it in a thread cannot crowd out the sends (they share the GIL)."""
        lock = self._feed_locks.setdefault(agency, asyncio.Lock())
        async with lock:
            cached = self._feeds.get(agency)
            now = time.monotonic()
            if cached is not None and now - cached[0] < FEED_TTL and cached[1] is settings:
                return cached[2]
            body = await asyncio.to_thread(self._feed, settings, agency)
            self._feeds[agency] = (time.monotonic(), settings, body)
            return body

    def _feed(self, settings: Settings, agency: str) -> bytes:
        from reminder.feed import build_feed  # icalendar (~3 MB resident) on the first feed

        return build_feed(settings, self.ledger, self.clock(), agency=agency, years=2)


def find_deadline(
    catalog: Catalog, task: Task, occurrence: str, milestone_id: str
) -> Deadline | None:
    """The (moved) deadline of one milestone of one occurrence, if the task still has it."""
    return status.deadline_of(catalog, task, occurrence, milestone_id)


def settings_agency_name(catalog: Catalog, agency_id: str) -> str:
    return catalog.agencies[agency_id].name if agency_id in catalog.agencies else agency_id


def _lead_agencies(catalog: Catalog) -> list[tuple[str, str]]:
    """(id, name) of the agencies that lead a task, successors in place of the merged."""
    ids = {successor(t.lead, catalog.agencies)[-1] for t in catalog.tasks if t.enabled}
    return [(a.id, a.name) for a in catalog.agencies.values() if a.id in ids]


def _nonce() -> str:
    import secrets

    return secrets.token_urlsafe(16)


def _loopback(address: str) -> bool:
    return address.startswith("127.") or address == "::1"


def _unprintable(text: str) -> bool:
    """Whether `text` holds what no one types into a form: control and format characters
    (NUL, bidi overrides such as U+202E, zero-width), surrogates, private or unassigned
    code points, or U+FFFD (bytes that were not UTF-8)."""
    return any(unicodedata.category(c) in _HIDDEN or c == "\ufffd" for c in text)


_HIDDEN = {"Cc", "Cf", "Cs", "Co", "Cn"}


def _echo(text: str, limit: int) -> str:
    """A refused value as the form shows it again: printable characters, at most `limit`."""
    return "".join(c for c in text if not _unprintable(c))[:limit]


def _int(text: str, default: int, lo: int, hi: int) -> int:
    try:
        value = int(text)
    except ValueError:
        return default
    return value if lo <= value <= hi else default


def _date(text: str) -> date | None:
    """A date typed as 10/12/2026 (the form's ngày/tháng/năm) or 2026-12-10."""
    text = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
        m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
        if m:
            return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    except ValueError:
        return None
    return None
