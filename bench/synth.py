"""Synthetic configurations and catalogs for the measurements.

`dispatch_config` writes a config.toml in which N distinct agencies each get exactly one
reminder at one instant (`DUE_AT`): one task per `per_task` agencies (a lead and
per_task − 1 supporting agencies, 5 by default, like the shipped tasks), a ladder of [0]
days for both roles, one yearly milestone on 15/12 (a Tuesday in 2026). So one cycle at
DUE_AT plans, claims, renders and sends N messages, none merged into a digest.

`catalog` builds a planning catalog (model objects, no TOML: config caps task numbers at
9999) of T tasks over A agencies with a realistic mix of timings.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from reminder.model import (
    VN_TZ,
    Agency,
    CalendarRules,
    Catalog,
    LeadTimes,
    LeadUnit,
    Milestone,
    PlanInfo,
    Role,
    Task,
)
from reminder.timing import parse_phrase

DUE_AT = datetime(2026, 12, 15, 8, 0, tzinfo=VN_TZ)  # 15/12/2026, a Tuesday, at send_time
SENDER = "Văn phòng UBND tỉnh <nhachan@bench.example>"
TITLE = (
    "Báo cáo kết quả thực hiện Kế hoạch phát triển nguồn nhân lực khoa học, công nghệ "
    "và đội ngũ trí thức tỉnh (đợt {n})"
)


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def chat_ids(n_chats: int, groups_every: int) -> list[str]:
    """n chat ids; every `groups_every`-th is a supergroup ("-100…"), the rest private."""
    out = []
    for i in range(n_chats):
        if groups_every and i % groups_every == 0:
            out.append(f"-100{2000000000 + i}")
        else:
            out.append(str(7000000000 + i))
    return out


def dispatch_config(
    folder: Path,
    n_agencies: int,
    *,
    per_task: int = 5,
    smtp_port: int | None = None,
    telegram_url: str | None = None,
    chats: list[str] | None = None,
    database: str = "sqlite:///ledger.db",
    zalo_url: str | None = None,
    zalo_rate: float = 50,
    due: str = "15/12",
) -> Path:
    """Write folder/config.toml (see the module docstring); return its path."""
    email = smtp_port is not None
    lines = [
        "[plan]",
        f"title = {_q('Kế hoạch thử tải (benchmark)')}",
        f"issuer = {_q('Ủy ban nhân dân tỉnh')}",
        f"sender = {_q('Văn phòng Ủy ban nhân dân tỉnh')}",
        "",
        "[reminders.lead]",
        "before = [0]",
        "[reminders.support]",
        "before = [0]",
        "",
        "[database]",
        f"url = {_q(database)}",
        "",
        "[outbox]",
        'dir = "outbox"',
        "",
        "[channels.email]",
        f"transport = {_q('smtp' if email else 'off')}",
    ]
    if email:
        lines += [
            "[channels.email.smtp]",
            'host = "127.0.0.1"',
            f"port = {smtp_port}",
            'security = "plain"',
            f"from = {_q(SENDER)}",
            'reply_to = "vanthu@bench.example"',
            "timeout_seconds = 30",
        ]
    lines += ["", "[channels.telegram]", f"transport = {_q('bot' if telegram_url else 'off')}"]
    if telegram_url:
        lines += [
            "[channels.telegram.bot]",
            'credential = ""',
            'token_env = "BENCH_TELEGRAM_TOKEN"',
            f"base_url = {_q(telegram_url)}",
            "timeout_seconds = 30",
        ]
    lines += ["", "[channels.zalo]", f"transport = {_q('bot' if zalo_url else 'off')}"]
    if zalo_url:
        lines += [
            "[channels.zalo.bot]",
            'credential = ""',
            'token_env = "BENCH_ZALO_TOKEN"',
            f"base_url = {_q(zalo_url)}",
            f"send_per_second = {zalo_rate}",
        ]
    lines.append("")
    for i in range(n_agencies):
        lines += ["[[agencies]]", f'id = "a{i:05d}"', f"name = {_q(f'Ủy ban nhân dân xã số {i}')}"]
        if email:
            lines.append(f'email = ["a{i:05d}@bench.example"]')
        if chats:
            lines.append(f'telegram = ["{chats[i % len(chats)]}"]')
        if zalo_url:
            lines.append(f'zalo = ["z{i:05d}"]')
        lines.append("")
    for t, start in enumerate(range(0, n_agencies, per_task)):
        members = [f"a{i:05d}" for i in range(start, min(start + per_task, n_agencies))]
        lines += [
            "[[tasks]]",
            f'id = "t{t:04d}"',
            f"number = {t + 1}",
            f"title = {_q(TITLE.format(n=t + 1))}",
            'timing = "Hằng năm"',
            f'lead = "{members[0]}"',
            "support = [" + ", ".join(f'"{m}"' for m in members[1:]) + "]",
            "",
            "[[tasks.milestones]]",
            'id = "bao-cao"',
            f"name = {_q('Báo cáo kết quả thực hiện trong năm')}",
            f'due = "{due}"',
            "",
        ]
    path = folder / "config.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


# -- planning catalogs ---------------------------------------------------------------------

_MIX = (  # (share out of 20, phrase, milestones)
    (12, "Hằng năm", (Milestone("ke-hoach", "Ban hành kế hoạch", due=(31, 3)),
                      Milestone("bao-cao", "Báo cáo kết quả", due=(15, 12)))),
    (5, "Hằng quý", (Milestone("bao-cao", "Báo cáo quý", due_day=20),)),
    (2, "Hằng tháng", (Milestone("bao-cao", "Báo cáo tháng", due_day=25),)),
    (1, "6 tháng/lần", (Milestone("so-ket", "Sơ kết", due_day=15),)),
)  # fmt: skip


def catalog(n_tasks: int, n_agencies: int = 50, support: int = 3) -> Catalog:
    """T tasks over A agencies: 60 % yearly (2 milestones), 25 % quarterly, 10 % monthly,
    5 % half-yearly; each with a lead and `support` supporting agencies; every agency has an
    e-mail address and every third a Telegram group too."""
    agencies = {
        f"a{i:02d}": Agency(
            id=f"a{i:02d}",
            name=f"Sở số {i}",
            emails=(f"a{i:02d}@bench.example",),
            telegram=(f"-100{3000000000 + i}",) if i % 3 == 0 else (),
        )
        for i in range(n_agencies)
    }
    ids = list(agencies)
    kinds = [(phrase, ms) for share, phrase, ms in _MIX for _ in range(share)]
    recurrences = {phrase: parse_phrase(phrase) for _, phrase, _ in _MIX}
    tasks = []
    for t in range(n_tasks):
        phrase, milestones = kinds[t % len(kinds)]
        lead = ids[t % n_agencies]
        sup = tuple(ids[(t + 7 * (k + 1)) % n_agencies] for k in range(support))
        tasks.append(
            Task(
                id=f"t{t:05d}",
                number=str(t + 1),
                title=TITLE.format(n=t + 1),
                timing=recurrences[phrase],
                lead=lead,
                support=sup,
                milestones=milestones,
            )
        )
    return Catalog(
        plan=PlanInfo("Kế hoạch thử tải", "Ủy ban nhân dân tỉnh"),
        tasks=tuple(tasks),
        agencies=agencies,
        calendar=CalendarRules(),
        lead_times={
            Role.LEAD: LeadTimes((30, 14, 7, 3, 1, 0), LeadUnit.CALENDAR, (1, 7)),
            Role.SUPPORT: LeadTimes((14, 3), LeadUnit.CALENDAR, ()),
        },
    )


PLAN_START = datetime(2026, 1, 1, 0, 0, tzinfo=VN_TZ)
PLAN_END = datetime(2027, 1, 1, 0, 0, tzinfo=VN_TZ)
