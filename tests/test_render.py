"""Rendering reminders into formal Vietnamese messages (reminder.render + templates/)."""

from __future__ import annotations

import re
import shutil
import unicodedata
from collections import Counter
from dataclasses import replace
from datetime import date, datetime
from html.parser import HTMLParser
from pathlib import Path

import jinja2
import pytest

import reminder
from reminder.model import (
    VN_TZ,
    Agency,
    CalendarRules,
    Catalog,
    Frequency,
    LeadTimes,
    LeadUnit,
    Message,
    Milestone,
    PlanInfo,
    Recurrence,
    Reminder,
    Role,
    Task,
)
from reminder.render import TELEGRAM_TAGS, Renderer, TemplateError, default_template_dir

TODAY = date(2026, 12, 8)
DEADLINE = date(2026, 12, 15)
DANGEROUS = "Tổ chức Hội thi <script>alert(1)</script> & {{ 7*7 }}"
SENDER = "Văn phòng Ủy ban nhân dân tỉnh"

PLAN = PlanInfo(
    title="Kế hoạch phát triển nguồn nhân lực khoa học, công nghệ và đội ngũ trí thức tỉnh",
    issuer="Ủy ban nhân dân tỉnh",
    sender=SENDER,
)

AGENCIES = {
    a.id: a
    for a in (
        Agency("so-noi-vu", "Sở Nội vụ", emails=("sonoivu@tinh.example",)),
        Agency("so-tai-chinh", "Sở Tài chính", emails=("sotaichinh@tinh.example",)),
        Agency("so-khdt", "Sở Kế hoạch và Đầu tư", succeeded_by="so-tai-chinh"),
        Agency("so-khcn", "Sở Khoa học và Công nghệ", telegram=("-1001",)),
        Agency(
            "co-quan",
            "các cơ quan, đơn vị, địa phương trên địa bàn tỉnh",
            members=("so-noi-vu", "so-tai-chinh", "so-khcn"),
            is_group=True,
        ),
    )
}

BAO_CAO = Milestone("bao-cao", "Báo cáo kết quả thực hiện trong năm", due=(15, 12))
TASKS = (
    Task(
        id="nv05",
        number="5",
        title="Tham mưu UBND tỉnh cân đối, bố trí nguồn vốn ngân sách tỉnh, lồng ghép các "
        "nguồn vốn để triển khai thực hiện các nhiệm vụ của kế hoạch.",
        timing=Recurrence(Frequency.YEARLY, phrase="Hằng năm"),
        lead="so-khdt",
        support=("so-tai-chinh", "so-khcn", "co-quan"),
        milestones=(BAO_CAO,),
    ),
    Task(
        id="nv03",
        number="3",
        title="Thực hiện việc cải cách tiền lương theo Nghị quyết số 27-NQ/TW ngày 21 tháng 5 "
        "năm 2018 của Hội nghị lần thứ bảy Ban Chấp hành Trung ương khóa XII.",
        timing=Recurrence(Frequency.TRIGGERED, phrase="Sau khi có hướng dẫn của Trung ương"),
        lead="so-noi-vu",
        support=("so-tai-chinh", "co-quan"),
        milestones=(BAO_CAO,),
    ),
    Task(
        id="nv09",
        number="9",
        title=DANGEROUS,
        timing=Recurrence(Frequency.YEARLY, interval=2, phrase="02 năm/lần"),
        lead="so-khcn",
        support=("so-noi-vu", "co-quan"),
        milestones=(Milestone("tong-ket", "Tổng kết, trao giải Hội thi", due=(30, 11)),),
    ),
)


def make_catalog(plan: PlanInfo = PLAN, tasks: tuple[Task, ...] = TASKS) -> Catalog:
    return Catalog(
        plan=plan,
        tasks=tasks,
        agencies=dict(AGENCIES),
        calendar=CalendarRules(),
        lead_times={Role.LEAD: LeadTimes((7, 0)), Role.SUPPORT: LeadTimes((3,))},
    )


def rem(
    task_id: str = "nv03",
    *,
    agency: str = "so-noi-vu",
    named_as: str | None = None,
    role: Role = Role.LEAD,
    deadline: date = DEADLINE,
    channel: str = "email",
    address: str = "x@tinh.example",
    lead_days: int = 7,
    milestone: str = "bao-cao",
) -> Reminder:
    named = named_as or agency
    return Reminder(
        key=f"{task_id}|2026|{milestone}|D-{lead_days}|{agency}|{channel}|{address}|{named}",
        task_id=task_id,
        occurrence="2026",
        milestone_id=milestone,
        deadline=deadline,
        send_at=datetime(2026, 12, 8, 8, 0, tzinfo=VN_TZ),
        lead_days=lead_days,
        lead_unit=LeadUnit.CALENDAR,
        agency=agency,
        named_as=named,
        role=role,
        channel=channel,
        address=address,
    )


@pytest.fixture
def renderer() -> Renderer:
    return Renderer(make_catalog())


def outputs(m: Message) -> list[str]:
    return [m.subject, m.text] + ([m.html] if m.html is not None else [])


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)

    def handle_endtag(self, tag: str) -> None:
        self.tags.add(tag)


def tags_of(text: str) -> set[str]:
    parser = _Tags()
    parser.feed(text)
    return parser.tags


def template_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "tpl"
    shutil.copytree(default_template_dir(), folder)
    return folder


# --- content ----------------------------------------------------------------------------


def test_default_template_dir_is_the_shipped_folder() -> None:
    """In a checkout, without a folder, the renderer uses templates/ beside the package."""
    expected = Path(reminder.__file__).resolve().parents[1] / "templates"
    assert Renderer(make_catalog()).template_dir == expected
    assert (expected / "email.html").is_file()


def test_default_template_dir_prefers_package_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In an installed wheel the templates are package data: reminder/templates is used."""
    package = tmp_path / "site-packages" / "reminder"
    (package / "templates").mkdir(parents=True)
    monkeypatch.setattr(reminder, "__file__", str(package / "__init__.py"))
    assert default_template_dir() == (package / "templates").resolve()


def test_email_has_formal_frame_and_is_nfc(renderer: Renderer) -> None:
    """An email reads "Kính gửi: <agency>", closes "Trân trọng." + sender, all in NFC."""
    m = renderer.render([rem()], today=TODAY)
    assert m.channel == "email" and m.address == "x@tinh.example"
    for part in (m.text, m.html or ""):
        assert "Kính gửi: Sở Nội vụ" in part
        assert "Trân trọng." in part
        assert SENDER in part
        assert "Nhiệm vụ số 3" in part
        assert "Báo cáo kết quả thực hiện trong năm" in part
        assert "Nghị quyết số 27-NQ/TW ngày 21 tháng 5 năm 2018" in part
    assert m.text.rstrip().endswith(SENDER)
    assert "1. Nhiệm vụ" not in m.text  # a single task is not numbered
    for part in outputs(m):
        assert unicodedata.is_normalized("NFC", part)


def test_subject_single_reminder(renderer: Renderer) -> None:
    """A single reminder's subject is one line: "[Nhắc hạn] <task> – hạn ngày … (còn N ngày)"."""
    m = renderer.render([rem()], today=TODAY)
    assert m.subject.startswith("[Nhắc hạn] Thực hiện việc cải cách tiền lương")
    assert m.subject.endswith("– hạn ngày 15/12/2026 (còn 7 ngày)")
    assert "\n" not in m.subject and len(m.subject) < 120


def test_deadline_in_prose_and_numeric_form(renderer: Renderer) -> None:
    """The deadline appears as "ngày 15 tháng 12 năm 2026" and as "15/12/2026" everywhere."""
    email = renderer.render([rem()], today=TODAY)
    telegram = renderer.render([rem(channel="telegram", address="-1001")], today=TODAY)
    for part in (email.text, email.html or ""):
        assert "ngày 15 tháng 12 năm 2026" in part
        assert "15/12/2026" in part
        assert "Thứ Ba" in part
    assert "15/12/2026" in telegram.text


@pytest.mark.parametrize(
    ("today", "phrase"),
    [
        (date(2026, 12, 8), "còn 7 ngày"),
        (date(2026, 12, 14), "còn 1 ngày"),
        (date(2026, 12, 15), "hôm nay là hạn cuối"),
        (date(2026, 12, 18), "đã quá hạn 3 ngày"),
    ],
)
@pytest.mark.parametrize("channel", ["email", "telegram"])
def test_countdown_from_today(renderer: Renderer, today: date, phrase: str, channel: str) -> None:
    """Subject and body count days from `today`: future, due today, overdue."""
    m = renderer.render([rem(channel=channel, lead_days=30)], today=today)
    for part in outputs(m):
        assert phrase in part


def test_days_left_ignore_the_reminders_lead(renderer: Renderer) -> None:
    """Days left come from the sending date, not from the reminder's rung of the ladder."""
    m = renderer.render([rem(lead_days=30)], today=date(2026, 12, 12))
    assert "còn 3 ngày" in m.text
    assert "30 ngày" not in m.text


def test_lead_is_asked_to_carry_out_and_report(renderer: Renderer) -> None:
    """A lead agency (chủ trì) is asked to carry out the task and report the result."""
    m = renderer.render([rem(role=Role.LEAD)], today=TODAY)
    for part in (m.text, m.html or ""):
        assert "Vai trò của Quý cơ quan: chủ trì" in part or "chủ trì</td>" in part
        assert "chủ trì, tổ chức thực hiện nhiệm vụ và báo cáo kết quả" in part
        assert "Sở Tài chính; các cơ quan, đơn vị, địa phương trên địa bàn tỉnh" in part


def test_support_is_asked_to_coordinate_with_named_lead(renderer: Renderer) -> None:
    """A supporting agency (phối hợp) is asked to coordinate with the lead, named."""
    r = rem(agency="so-tai-chinh", role=Role.SUPPORT)
    m = renderer.render([r], today=TODAY)
    t = renderer.render([replace(r, channel="telegram", address="-1")], today=TODAY)
    for part in (m.text, m.html or "", t.text):
        assert "phối hợp với Sở Nội vụ (đơn vị chủ trì)" in part
        assert "báo cáo kết quả" not in part
    assert "Đơn vị chủ trì: Sở Nội vụ" in m.text
    assert "Các đơn vị phối hợp khác: các cơ quan, đơn vị, địa phương trên địa bàn tỉnh" in m.text


def test_support_names_the_leads_successor(renderer: Renderer) -> None:
    """When the lead was merged away, the support message names it "(nay là …)"."""
    m = renderer.render([rem("nv05", agency="so-khcn", role=Role.SUPPORT)], today=TODAY)
    expected = "phối hợp với Sở Kế hoạch và Đầu tư (nay là Sở Tài chính) (đơn vị chủ trì)"
    assert expected in m.text
    assert expected in (m.html or "")


@pytest.mark.parametrize("channel", ["email", "telegram"])
def test_successor_recipient_reads_nay_la(renderer: Renderer, channel: str) -> None:
    """A successor is addressed by its own name; the task's agency reads "X (nay là Y)"."""
    r = rem("nv05", agency="so-tai-chinh", named_as="so-khdt", channel=channel)
    m = renderer.render([r], today=TODAY)
    for part in outputs(m)[1:]:
        assert "Kính gửi: Sở Tài chính" in part
        assert "Sở Kế hoạch và Đầu tư (nay là Sở Tài chính)" in part


def test_group_stand_in_is_addressed_by_own_name(renderer: Renderer) -> None:
    """A member standing in for a group is addressed by name; the group wording is quoted."""
    r = rem(agency="so-tai-chinh", named_as="co-quan", role=Role.SUPPORT)
    m = renderer.render([r], today=TODAY)
    for part in (m.text, m.html or ""):
        assert "Kính gửi: Sở Tài chính" in part
        assert "Quý cơ quan thuộc “các cơ quan, đơn vị, địa phương trên địa bàn tỉnh”" in part
        assert "Kính gửi: các cơ quan" not in part


def test_plan_without_number_or_date(renderer: Renderer) -> None:
    """A plan with blank number and date is named without "số" or "ngày"."""
    m = renderer.render([rem()], today=TODAY)
    expected = f"kèm theo {PLAN.title} của Ủy ban nhân dân tỉnh."
    assert expected in m.text
    assert "số /KH" not in m.text and "Kế hoạch số" not in m.text


def test_plan_with_number_and_date() -> None:
    """A signed plan reads "Kế hoạch số N ngày … của <issuer> về <topic>"."""
    plan = replace(PLAN, number="123/KH-UBND", signed_on=date(2024, 12, 20))
    m = Renderer(make_catalog(plan=plan)).render([rem()], today=TODAY)
    expected = (
        "Kế hoạch số 123/KH-UBND ngày 20 tháng 12 năm 2024 của Ủy ban nhân dân tỉnh "
        "về phát triển nguồn nhân lực"
    )
    assert expected in m.text
    assert expected in (m.html or "")


def test_blank_sender_falls_back_to_issuer() -> None:
    """Without a sending office the letter is signed by the plan's issuer."""
    m = Renderer(make_catalog(plan=replace(PLAN, sender=""))).render([rem()], today=TODAY)
    assert m.text.rstrip().endswith("Trân trọng.\nỦy ban nhân dân tỉnh")


@pytest.mark.parametrize("channel", ["email", "telegram"])
def test_automatic_notice_and_how_to_report(renderer: Renderer, channel: str) -> None:
    """The message says it is automatic and how to report completion (to the sender)."""
    m = renderer.render([rem(channel=channel)], today=TODAY)
    body = m.text
    assert "tự động" in body
    assert f"báo cho {SENDER}" in body or f"báo lại cho {SENDER}" in body


# --- digests ------------------------------------------------------------------------------


def digest(channel: str = "email") -> list[Reminder]:
    return [
        rem("nv09", agency="so-noi-vu", role=Role.SUPPORT, deadline=date(2026, 11, 30),
            channel=channel, milestone="tong-ket"),
        rem("nv05", agency="so-noi-vu", named_as="co-quan", role=Role.SUPPORT, channel=channel),
        rem("nv03", agency="so-noi-vu", deadline=date(2026, 12, 10), channel=channel),
    ]  # fmt: skip


def test_digest_lists_three_tasks_under_one_subject(renderer: Renderer) -> None:
    """Three reminders for one agency make one email: one subject with the count, 3 tasks."""
    m = renderer.render(digest(), today=date(2026, 11, 27))
    assert m.subject.startswith("[Nhắc hạn] 3 nhiệm vụ sắp đến hạn – ")
    assert "hạn sớm nhất ngày 30/11/2026 (còn 3 ngày)" in m.subject
    assert len(m.keys) == 3
    numbers = re.findall(r"Nhiệm vụ số (\d+)", m.text)
    assert numbers == ["9", "3", "5"]  # by deadline
    assert (m.html or "").count("<table") == 3
    assert m.text.count("Kính gửi:") == 1


def test_an_email_digest_calls_one_macro_per_line_of_an_item(
    renderer: Renderer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The per-item wording of email.txt and email.html costs one macro call per line of a
    lead item (role, supporting agencies, request): none of them calls role_name, role_note,
    agency or reports_to in turn (a call costs about as much as the rest of the item, and a
    sending wake-up renders ~800 items)."""
    calls: list[str] = []
    invoke = jinja2.runtime.Macro._invoke

    def counted(self: jinja2.runtime.Macro, *args: object, **kwargs: object) -> object:
        calls.append(self.name)
        return invoke(self, *args, **kwargs)

    monkeypatch.setattr(jinja2.runtime.Macro, "_invoke", counted)
    leads = [replace(r, role=Role.LEAD, named_as=r.agency) for r in digest()]
    m = renderer.render(leads, today=date(2026, 12, 2))  # one of them overdue
    assert m.text.count("Vai trò của Quý cơ quan: chủ trì") == 3
    per_item = Counter(c for c in calls if c not in ("sender", "plan_ref", "late_note"))
    assert per_item == {"role_line": 6, "request": 6, "agencies": 6}  # 3 items, 2 templates


def test_templates_get_the_digests_counts(tmp_path: Path) -> None:
    """n_tasks, n_overdue and n_linked are given to the templates (counted once, not by a
    filter chain in each template): two milestones of one task count as one task."""
    folder = tmp_path / "templates"
    shutil.copytree(default_template_dir(), folder)
    (folder / "email_subject.txt").write_text(
        "{{ n_tasks }} {{ n_overdue }} {{ n_linked }} {{ items|length }}", encoding="utf-8"
    )
    batch = [*digest(), rem("nv03", milestone="khac", deadline=date(2026, 11, 30))]
    m = Renderer(make_catalog(), folder).render(batch, today=date(2026, 12, 2))
    assert m.subject == "3 2 0 4"


def test_digest_subject_counts_overdue(renderer: Renderer) -> None:
    """A digest with an overdue task says how many are overdue, not "sắp đến hạn"."""
    m = renderer.render(digest(), today=date(2026, 12, 2))
    assert m.subject.startswith("[Nhắc hạn] 3 nhiệm vụ đến hạn, trong đó 1 đã quá hạn")
    assert "đã quá hạn 2 ngày" in m.subject


def test_telegram_digest_one_block_per_task(renderer: Renderer) -> None:
    """A Telegram digest has a short header, one block per task, each deadline in bold."""
    m = renderer.render(digest("telegram"), today=date(2026, 11, 27))
    assert m.html is None
    assert m.text.startswith("<b>NHẮC HẠN: 3 nhiệm vụ</b>\nKính gửi: Sở Nội vụ")
    assert len(re.findall(r"<b>\d\. Nhiệm vụ số \d+</b>", m.text)) == 3
    assert "<b>Hạn: 30/11/2026 (Thứ Hai) – còn 3 ngày</b>" in m.text
    assert "<b>Hạn: 15/12/2026 (Thứ Ba) – còn 18 ngày</b>" in m.text


def test_render_refuses_mixed_recipients_and_empty_batches(renderer: Renderer) -> None:
    """A message carries reminders of one agency, channel and address, and at least one."""
    with pytest.raises(ValueError, match="share agency"):
        renderer.render([rem(), rem(agency="so-tai-chinh")], today=TODAY)
    with pytest.raises(ValueError, match="share agency"):
        renderer.render([rem(), rem("nv05", channel="telegram")], today=TODAY)
    with pytest.raises(ValueError, match="at least one"):
        renderer.render([], today=TODAY)
    with pytest.raises(ValueError, match="unknown task"):
        renderer.render([rem("nv99")], today=TODAY)


def test_duplicate_reminders_are_rendered_once(renderer: Renderer) -> None:
    """The same reminder key twice yields one entry, not two."""
    m = renderer.render([rem(), rem()], today=TODAY)
    assert m.keys == (rem().key,)
    assert m.text.count("Nhiệm vụ số 3") == 1


# --- escaping -----------------------------------------------------------------------------


def test_dangerous_title_is_escaped_in_html_and_literal_in_text(renderer: Renderer) -> None:
    """Config text is data: escaped in HTML and Telegram, literal in text, never evaluated."""
    email = renderer.render([rem("nv09", agency="so-khcn", milestone="tong-ket")], today=TODAY)
    tg = renderer.render(
        [rem("nv09", agency="so-khcn", milestone="tong-ket", channel="telegram")], today=TODAY
    )
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; {{ 7*7 }}"
    assert DANGEROUS in email.text
    assert "<script>" in email.subject  # a plain-text header, not HTML
    for html_part in (email.html or "", tg.text):
        assert escaped in html_part
        assert "<script" not in html_part
    for part in (email.subject, email.text, email.html or "", tg.text):
        assert "49" not in part


def test_agency_and_plan_names_are_escaped_too() -> None:
    """Agency and plan names with markup are escaped in HTML like titles."""
    agencies = dict(AGENCIES)
    agencies["so-noi-vu"] = replace(agencies["so-noi-vu"], name="Sở <i>Nội</i> vụ & {{ x }}")
    catalog = replace(make_catalog(plan=replace(PLAN, sender="VP <b>UBND</b>")), agencies=agencies)
    r = Renderer(catalog)
    tg = r.render([rem(channel="telegram")], today=TODAY)
    email = r.render([rem()], today=TODAY)
    for part in (tg.text, email.html or ""):
        assert "Sở &lt;i&gt;Nội&lt;/i&gt; vụ &amp; {{ x }}" in part
        assert "VP &lt;b&gt;UBND&lt;/b&gt;" in part
    assert "Kính gửi: Sở <i>Nội</i> vụ & {{ x }}" in email.text


def test_telegram_uses_only_allowed_tags(renderer: Renderer) -> None:
    """Telegram text holds only <b>, <i>, <u>, <s>, <a>, <code>, <pre>, <blockquote>."""
    batch = [replace(r, channel="telegram", address="-1") for r in digest()]
    m = renderer.render(batch, today=TODAY, late=True)
    assert tags_of(m.text) <= TELEGRAM_TAGS
    assert "b" in tags_of(m.text)
    assert "\n\n\n" not in m.text


def test_nfd_config_text_comes_out_nfc() -> None:
    """Titles typed in NFD (from Word/PDF) arrive in NFC in every part."""
    nfd = unicodedata.normalize("NFD", "Thực hiện việc cải cách tiền lương")
    tasks = (replace(TASKS[1], title=nfd), *TASKS[::2])
    m = Renderer(make_catalog(tasks=tasks)).render([rem()], today=TODAY)
    for part in outputs(m):
        assert unicodedata.is_normalized("NFC", part)
    assert "Thực hiện việc cải cách tiền lương" in m.text


def test_subject_stays_one_line_with_multiline_title() -> None:
    """A title with line breaks (as pasted from a PDF) cannot break the subject header."""
    tasks = (replace(TASKS[1], title="Thực hiện\r\nviệc cải cách\ntiền lương"), *TASKS[::2])
    m = Renderer(make_catalog(tasks=tasks)).render([rem()], today=TODAY)
    assert "\n" not in m.subject and "\r" not in m.subject
    assert m.subject.startswith("[Nhắc hạn] Thực hiện việc cải cách tiền lương –")


# --- late ---------------------------------------------------------------------------------


@pytest.mark.parametrize("channel", ["email", "telegram"])
def test_late_wording_only_when_late(renderer: Renderer, channel: str) -> None:
    """The "sent late, the system was interrupted" sentence appears only when late."""
    on_time = renderer.render([rem(channel=channel)], today=TODAY)
    late = renderer.render([rem(channel=channel)], today=TODAY, late=True)
    for part in outputs(on_time):
        assert "gửi chậm" not in part and "gián đoạn" not in part
    for part in outputs(late)[1:]:
        assert "gửi chậm" in part and "gián đoạn" in part


# --- identity and headers -----------------------------------------------------------------


def test_message_id_is_deterministic_and_order_independent(renderer: Renderer) -> None:
    """The Message-ID derives from the sorted keys: same keys, same id, whatever the order."""
    batch = digest()
    a = renderer.render(batch, today=TODAY)
    b = renderer.render(list(reversed(batch)), today=date(2026, 12, 1), late=True)
    assert a.message_id == b.message_id
    assert a.keys == b.keys == tuple(sorted(r.key for r in batch))
    assert re.fullmatch(r"<[0-9a-f]{32}@reminder\.local>", a.message_id or "")
    other = renderer.render(batch[:2], today=TODAY, message_id_domain="tinh.example")
    assert other.message_id != a.message_id
    assert (other.message_id or "").endswith("@tinh.example>")


def test_headers_carry_keys_or_their_count(renderer: Renderer) -> None:
    """X-Reminder-Keys lists short key sets; a long set is reduced to a count."""
    m = renderer.render(digest(), today=TODAY)
    assert m.headers == {"X-Reminder-Keys": ", ".join(m.keys)}
    many = [rem(address="a@b", milestone="bao-cao", lead_days=n) for n in range(40)]
    big = renderer.render(many, today=TODAY)
    assert big.headers == {"X-Reminder-Count": "40"}


def test_long_telegram_digest_is_compacted() -> None:
    """A Telegram digest that would pass 4096 characters is rendered in compact form."""
    long_title = "Triển khai các hoạt động đào tạo kiến thức, kỹ năng về khoa học " * 8
    tasks = tuple(
        replace(TASKS[1], id=f"t{n}", number=str(n), title=f"{long_title} {n}") for n in range(12)
    )
    r = Renderer(make_catalog(tasks=tasks))
    batch = [rem(f"t{n}", channel="telegram", address="-1") for n in range(12)]
    m = r.render(batch, today=TODAY)
    visible = re.sub(r"<[^>]+>", "", m.text)
    assert len(visible) <= 4096
    assert len(re.findall(r"<b>\d+\. Nhiệm vụ số", m.text)) == 12
    assert "Chủ trì" not in m.text  # all lead here; no per-task request sentences
    assert "Đề nghị Quý cơ quan chủ trì hoặc phối hợp" in m.text


# --- template problems --------------------------------------------------------------------


def test_shipped_templates_check_clean() -> None:
    """check() on the shipped templates and a sample catalog reports nothing."""
    assert Renderer(make_catalog()).check() == []


def test_undefined_variable_is_reported_with_file_and_line(tmp_path: Path) -> None:
    """StrictUndefined: check() names file:line, render() raises TemplateError."""
    folder = template_copy(tmp_path)
    html_file = folder / "email.html"
    lines = html_file.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if "Kính gửi" in line)
    lines[at] += " {{ foo }}"
    html_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = Renderer(make_catalog(), folder)
    expected = f"{folder / 'email.html'}:{at + 1}: 'foo' is undefined"
    assert expected in r.check()
    with pytest.raises(TemplateError) as info:
        r.render([rem()], today=TODAY)
    assert str(info.value) == expected


def test_error_inside_a_macro_names_the_macro_file(tmp_path: Path) -> None:
    """An undefined attribute inside the shared macros is reported at the macro's line."""
    folder = template_copy(tmp_path)
    macros = folder / "_macros.txt"
    text = macros.read_text(encoding="utf-8").replace(
        "{{ a.name }}{% if a.successor %}", "{{ a.nom }}{% if a.successor %}"
    )
    macros.write_text(text, encoding="utf-8")
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "a.nom" in s)
    problems = Renderer(make_catalog(), folder).check()
    assert any(p.startswith(f"{macros}:{line}: ") and "nom" in p for p in problems)


def test_syntax_error_is_reported_with_file_and_line(tmp_path: Path) -> None:
    """A template that does not compile is reported as file:line: message."""
    folder = template_copy(tmp_path)
    (folder / "email.txt").write_text("Kính gửi: {{ recipient.name }}\n{% if %}\n")
    r = Renderer(make_catalog(), folder)
    problems = r.check()
    assert len(problems) == 1
    assert problems[0].startswith(f"{folder / 'email.txt'}:2: ")
    with pytest.raises(TemplateError, match=r"email\.txt:2: "):
        r.render([rem()], today=TODAY)


def test_missing_template_and_folder_are_reported(tmp_path: Path) -> None:
    """A missing template file, or folder, is a check() problem, not a traceback."""
    folder = template_copy(tmp_path)
    (folder / "telegram.html").unlink()
    assert Renderer(make_catalog(), folder).check() == [
        f"{folder / 'telegram.html'}: template missing"
    ]
    nowhere = Renderer(make_catalog(), tmp_path / "nowhere").check()
    assert nowhere == [f"{tmp_path / 'nowhere'}: template folder not found"]


def test_telegram_template_with_unsupported_tag_is_refused(tmp_path: Path) -> None:
    """A Telegram template using a tag Telegram refuses (<br>) fails check() and render()."""
    folder = template_copy(tmp_path)
    tg = folder / "telegram.html"
    tg.write_text(tg.read_text(encoding="utf-8").replace("Kính gửi:", "<br>Kính gửi:"))
    r = Renderer(make_catalog(), folder)
    problems = r.check()
    assert problems and all("<br>" in p for p in problems)
    assert problems[0].startswith(f"{tg}:")
    with pytest.raises(TemplateError, match="does not allow <br>"):
        r.render([rem(channel="telegram")], today=TODAY)


def test_check_catches_unescaped_config_text(tmp_path: Path) -> None:
    """A template that marks a title |safe is caught by check()'s escaping probe."""
    folder = template_copy(tmp_path)
    page = folder / "email.html"
    page.write_text(
        page.read_text(encoding="utf-8").replace("{{ item.title }}", "{{ item.title|safe }}")
    )
    problems = Renderer(make_catalog(), folder).check()
    assert len(problems) == 1
    assert "not escaped" in problems[0] and problems[0].startswith(f"{page}:")


def test_html_template_importing_text_macros_is_caught(tmp_path: Path) -> None:
    """Importing the plain-text macros into an HTML template (no escaping) is caught."""
    folder = template_copy(tmp_path)
    tg = folder / "telegram.html"
    tg.write_text(tg.read_text(encoding="utf-8").replace('"_macros.html"', '"_macros.txt"'))
    problems = Renderer(make_catalog(), folder).check()
    assert any(p.startswith(f"{tg}:") and "not escaped" in p for p in problems)


# --- send-test ----------------------------------------------------------------------------


@pytest.mark.parametrize("channel", ["email", "telegram"])
def test_test_message_names_channel_time_and_sender(renderer: Renderer, channel: str) -> None:
    """`reminder send-test` gets a formal test message in local time, signed by the sender."""
    now = datetime(2026, 12, 8, 1, 5, tzinfo=VN_TZ)
    m = renderer.test_message(channel, "<chat&1>", now)
    assert m.channel == channel and m.address == "<chat&1>"
    assert m.subject == "[Nhắc hạn] Thư thử nghiệm – 08/12/2026"
    assert "01:05 Thứ Ba" in m.text and "thử nghiệm" in m.text
    assert m.text.rstrip().endswith(f"Trân trọng.\n{SENDER}")
    assert m.keys == () and re.fullmatch(r"<[0-9a-f]{32}@reminder\.local>", m.message_id or "")
    if channel == "telegram":
        assert "&lt;chat&amp;1&gt;" in m.text and tags_of(m.text) <= TELEGRAM_TAGS
    else:
        assert "<chat&1>" in m.text and m.html is None


def test_test_message_converts_to_the_calendar_time_zone(renderer: Renderer) -> None:
    """The test message shows Vietnamese local time whatever zone `now` is given in."""
    from datetime import UTC

    m = renderer.test_message("email", "a@b", datetime(2026, 12, 8, 18, 30, tzinfo=UTC))
    assert "01:30 Thứ Tư, ngày 09 tháng 12 năm 2026" in m.text


def test_check_renders_the_test_templates(tmp_path: Path) -> None:
    """check() also renders the send-test templates."""
    folder = template_copy(tmp_path)
    (folder / "test.txt").write_text("{{ nope }}\n", encoding="utf-8")
    assert Renderer(make_catalog(), folder).check() == [
        f"{folder / 'test.txt'}:1: 'nope' is undefined"
    ]


@pytest.mark.parametrize("channel", ["email", "telegram"])
@pytest.mark.parametrize("overdue", [False, True], ids=["before", "overdue"])
def test_reports_go_to_the_body_that_exists_today(channel: str, overdue: bool) -> None:
    """With [plan] reports_to, the lead is asked to report to "<issuer> (nay là <reports_to>)";
    the plan is still cited with its issuer as signed."""
    old, new = "Ủy ban nhân dân tỉnh Kiên Giang", "Ủy ban nhân dân tỉnh An Giang"
    plan = replace(PLAN, issuer=old, reports_to=new)
    renderer = Renderer(make_catalog(plan=plan))
    deadline = date(2026, 12, 1) if overdue else DEADLINE
    message = renderer.render([rem(channel=channel, deadline=deadline)], today=TODAY)
    for body in (message.text, message.html or message.text):
        plain = re.sub(r"<[^>]+>", "", body)
        assert f"báo cáo kết quả về {old} (nay là {new})" in plain
        assert f"của {old}" in plain  # the citation of the plan
        assert f"{new} (nay là" not in plain
    same = Renderer(make_catalog(plan=replace(plan, reports_to="")))
    text = same.render([rem(channel=channel, deadline=deadline)], today=TODAY).text
    assert f"báo cáo kết quả về {old}" in text and "nay là Ủy ban" not in text


def test_telegram_tags_are_checked_without_the_html_parser_when_all_are_allowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Telegram text whose tags are all Telegram's passes without html.parser's Python
    parse (~0.5 ms per digest); any other tag name still goes through the parser, which
    reports what it always did (comments skipped, spaced end tags, upper case, script)."""
    from reminder import render as module

    parsed: list[str] = []
    feed = module._TagCollector.feed

    def counted(self: module._TagCollector, data: str) -> None:
        parsed.append(data)
        feed(self, data)

    monkeypatch.setattr(module._TagCollector, "feed", counted)
    allowed = "<b>x</b> <i>y</ i> <A href='u'>z</A> &lt;div&gt; </b > 1 < 2"
    assert module._disallowed_tags(allowed) == []
    assert parsed == []
    for text, bad in [
        ("<div>x</div>", ["div"]),
        ("<!-- <div> --><b>x</b>", []),
        ("</ SPAN >", ["span"]),
        ("<b<div>", ["b<div"]),
        ("<script>1</script>", ["script"]),
    ]:
        assert module._disallowed_tags(text) == bad, text
    assert len(parsed) == 5
