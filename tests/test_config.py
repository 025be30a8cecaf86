"""Loading config.toml: the shipped file, paths, secrets, Unicode, and the line scanner.

The bad files live in tests/bad_configs/ (tests/test_bad_configs.py); here are the good
paths and the pieces the error messages are built from.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
import unicodedata
from pathlib import Path

import pytest
from helpers import SHIPPED_PLAN, copy_plans, shipped_variant

from reminder.config import ConfigError, Problem, Settings, load
from reminder.config.locate import key_lines, line_of
from reminder.config.problems import readable_key
from reminder.model import Frequency

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "config.toml"
SEED = Path("/work/shared/seed/phu-luc-nhiem-vu.txt")
SECRET = "Mật-khẩu-SMTP-7f3a9c"  # distinctive, so a leak anywhere is found by a plain `in`
TOKEN = "123456:AA-telegram-token-b81e"


def collapse(text: str) -> str:
    """NFC, with every run of whitespace (the PDF's line breaks) made one space."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def squeeze(text: str) -> str:
    """NFC without any whitespace: for titles the PDF broke inside a word ("27-\\nNQ/TW")."""
    return "".join(unicodedata.normalize("NFC", text).split())


@pytest.fixture
def no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """No REMINDER_* variable and no systemd credentials directory in this process."""
    for name in list(os.environ):
        if name.startswith("REMINDER_") or name == "CREDENTIALS_DIRECTORY":
            monkeypatch.delenv(name)


@pytest.fixture
def shipped(no_secrets: None) -> Settings:
    """The shipped config.toml, loaded."""
    return load(SHIPPED)


SMTP_ON = ('[channels.email]\ntransport = "outbox"', '[channels.email]\ntransport = "smtp"')
BOT_ON = ('[channels.telegram]\ntransport = "outbox"', '[channels.telegram]\ntransport = "bot"')


# --- the shipped config ------------------------------------------------------------------


def test_shipped_has_eleven_tasks_numbered_in_order(shipped: Settings) -> None:
    """The shipped config holds the appendix's 11 tasks, numbered 1 to 11 in file order."""
    assert [t.number for t in shipped.catalog.tasks] == [str(n) for n in range(1, 12)]
    assert [t.id for t in shipped.catalog.tasks] == [f"nv{n:02d}" for n in range(1, 12)]


def test_shipped_titles_are_the_seed_text(shipped: Settings) -> None:
    """Every task title is the appendix's text verbatim (whitespace aside)."""
    seed = SEED.read_text(encoding="utf-8")
    for task in shipped.catalog.tasks:
        assert squeeze(task.title) in squeeze(seed), task.id
    whole = collapse(seed)
    for number, title in {
        1: "Kế hoạch số 45/KH-UBND ngày 08 tháng 3 năm 2021 của Ủy ban nhân dân tỉnh Kế hoạch "
        "đào tạo, bồi dưỡng cán bộ, công chức, viên chức tỉnh Kiên Giang, giai đoạn 2021 – 2025",
        6: "Kế hoạch phát triển nguồn nhân lực khoa học và công nghệ",
        9: "Tổ chức Hội thi sáng tạo khoa học kỹ thuật tỉnh",
        10: "Tổ chức Hội thi Khởi nghiệp đổi mới sáng tạo cấp tỉnh",
    }.items():
        assert shipped.catalog.task(str(number)).title == title
        assert title in whole


def test_shipped_timing_phrases_are_the_seed_text(shipped: Settings) -> None:
    """Each task keeps its timing phrase as the appendix writes it, and is read as meant."""
    whole = collapse(SEED.read_text(encoding="utf-8"))
    expected = {
        1: ("Hằng năm", Frequency.YEARLY),
        2: ("Hằng năm", Frequency.YEARLY),
        3: ("Sau khi có hướng dẫn của Trung ương", Frequency.TRIGGERED),
        4: ("Hằng năm", Frequency.YEARLY),
        5: ("Hằng năm", Frequency.YEARLY),
        6: ("Hằng năm, bắt đầu từ năm 2025", Frequency.YEARLY),
        7: ("Theo nhiệm vụ được giao", Frequency.ASSIGNED),
        8: ("Theo nhiệm vụ được giao", Frequency.ASSIGNED),
        9: ("02 năm/lần", Frequency.YEARLY),
        10: ("Hằng năm", Frequency.YEARLY),
        11: ("Hằng năm", Frequency.YEARLY),
    }
    for task in shipped.catalog.tasks:
        phrase, frequency = expected[int(task.number)]
        assert (task.timing.phrase, task.timing.frequency) == (phrase, frequency)
        assert phrase in whole
    assert shipped.catalog.task("6").timing.start_year == 2025
    nine = shipped.catalog.task("9").timing
    assert (nine.interval, nine.anchor_year) == (2, 2025)


def test_shipped_task5_lead_is_succeeded(shipped: Settings) -> None:
    """Task 5 names Sở Kế hoạch và Đầu tư as lead, which Sở Tài chính has succeeded."""
    five = shipped.catalog.task("5")
    assert five.lead == "so-ke-hoach-dau-tu"
    old = shipped.catalog.agencies["so-ke-hoach-dau-tu"]
    assert (old.name, old.succeeded_by) == ("Sở Kế hoạch và Đầu tư", "so-tai-chinh")
    assert shipped.catalog.agencies["so-tai-chinh"].name == "Sở Tài chính"


def test_shipped_warnings(shipped: Settings) -> None:
    """Warnings name the two groups that reach nobody and list every assumed date."""
    by_key = {w.key: w for w in shipped.warnings}
    unreachable = {k for k, w in by_key.items() if "reaches nobody" in w.message}
    assert unreachable == {"groups[to-chuc-lien-quan]", "groups[doanh-nghiep]"}
    assert all(by_key[k].line for k in unreachable)
    data = tomllib.loads(SHIPPED_PLAN.read_text(encoding="utf-8"))
    assumed = [
        f"{t['number']}/{m['id']}:"
        for t in data["tasks"]
        for m in t.get("milestones", [])
        if m.get("assumed")
    ] + [f"{t['number']}:" for t in data["tasks"] if t.get("assumed")]
    message = by_key["assumed"].message
    assert message.startswith(f"{len(assumed)} dates or timings are assumptions to confirm")
    assert all(a in message for a in assumed)
    assert " 9:" in message  # the anchor year of the every-two-years contest
    assert len(shipped.warnings) == 3


def test_check_on_shipped_config_exits_0(tmp_path: Path) -> None:
    """`reminder check` on the shipped config exits 0, prints a summary and only warnings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("REMINDER_") and k != "CREDENTIALS_DIRECTORY"
    }
    proc = subprocess.run(
        [sys.executable, "-m", "reminder", "--config", str(SHIPPED), "check"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"{SHIPPED}: OK — 11 tasks" in proc.stdout
    assert all(line.startswith("warning: ") for line in proc.stderr.splitlines())
    assert "Traceback" not in proc.stderr


# --- paths ---------------------------------------------------------------------------------


def test_relative_paths_follow_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_secrets: None
) -> None:
    """A relative sqlite path and outbox dir are taken from the config's folder, not the cwd."""
    folder = tmp_path / "etc"
    folder.mkdir()
    config = shipped_variant(folder)
    monkeypatch.chdir(tmp_path)
    settings = load(Path("etc/config.toml"))
    base = config.resolve().parent
    assert settings.database_url == f"sqlite:///{base / 'reminder.db'}"
    assert settings.outbox.directory == base / "outbox"


def test_absolute_and_memory_database_urls_are_kept(tmp_path: Path, no_secrets: None) -> None:
    """An absolute sqlite path and sqlite:///:memory: are used as written."""
    for url in ("sqlite:////var/lib/reminder/ledger.db", "sqlite:///:memory:"):
        config = shipped_variant(tmp_path, ('url = "sqlite:///reminder.db"', f'url = "{url}"'))
        assert load(config).database_url == url


# --- secrets -------------------------------------------------------------------------------


def test_smtp_password_from_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_secrets: None
) -> None:
    """With transport "smtp", the password comes from $REMINDER_SMTP_PASSWORD."""
    monkeypatch.setenv("REMINDER_SMTP_PASSWORD", SECRET)
    settings = load(shipped_variant(tmp_path, SMTP_ON))
    assert settings.email_transport == "smtp"
    assert settings.smtp is not None
    assert settings.smtp.password == SECRET
    assert settings.smtp.username == "nhachan@tinh.example"


def test_smtp_password_from_file_relative_to_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_secrets: None
) -> None:
    """password_file is read (one trailing newline dropped), relative to the config's folder."""
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "smtp-password").write_text(SECRET + "\n", encoding="utf-8")
    config = shipped_variant(
        folder,
        SMTP_ON,
        (
            'password_env = "REMINDER_SMTP_PASSWORD"',
            'password_env = "REMINDER_SMTP_PASSWORD"\npassword_file = "smtp-password"',
        ),
    )
    monkeypatch.chdir(tmp_path)
    settings = load(config)
    assert settings.smtp is not None
    assert settings.smtp.password == SECRET


def test_secret_sources_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_secrets: None
) -> None:
    """The systemd credential wins over the variable, which wins over the file."""
    (tmp_path / "password.txt").write_text("from-file", encoding="utf-8")
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "smtp_password").write_text("from-credential", encoding="utf-8")
    config = shipped_variant(
        tmp_path,
        SMTP_ON,
        (
            'credential = "smtp_password"',
            'credential = "smtp_password"\npassword_file = "password.txt"',
        ),
    )

    def password() -> str | None:
        smtp = load(config).smtp
        assert smtp is not None
        return smtp.password

    assert password() == "from-file"
    monkeypatch.setenv("REMINDER_SMTP_PASSWORD", "from-env")
    assert password() == "from-env"
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    assert password() == "from-credential"


def test_secrets_never_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_secrets: None
) -> None:
    """The password and the bot token appear in no str/repr of Settings, nor in any problem."""
    monkeypatch.setenv("REMINDER_SMTP_PASSWORD", SECRET)
    monkeypatch.setenv("REMINDER_TELEGRAM_TOKEN", TOKEN)
    settings = load(shipped_variant(tmp_path, SMTP_ON, BOT_ON))
    assert settings.smtp is not None and settings.smtp.password == SECRET
    assert settings.telegram is not None and settings.telegram.token == TOKEN
    shown = [str(settings), repr(settings), repr(settings.smtp), repr(settings.telegram)]
    shown += [str(w) for w in settings.warnings]
    assert not any(SECRET in s or TOKEN in s for s in shown)

    broken = shipped_variant(
        tmp_path,
        SMTP_ON,
        BOT_ON,
        ("timeout_seconds = 30\n# ca_file", 'timeout_seconds = 30\nca_file = "none.pem"\n# ca'),
    )
    with pytest.raises(ConfigError) as info:
        load(broken)
    text = str(info.value) + "".join(f"{p}{p!r}" for p in info.value.problems)
    assert "ca_file" in text
    assert SECRET not in text and TOKEN not in text


def test_secret_file_that_is_not_utf8_is_named_not_quoted(tmp_path: Path, no_secrets: None) -> None:
    """A password file that is not UTF-8 is an error naming the file, never its bytes."""
    (tmp_path / "pw").write_bytes(b"caf\xe9-" + SECRET.encode("latin-1", errors="replace"))
    config = shipped_variant(
        tmp_path, SMTP_ON, ('credential = "smtp_password"', 'credential = ""\npassword_file = "pw"')
    )
    with pytest.raises(ConfigError) as info:
        load(config)
    (problem,) = info.value.problems
    assert problem.key == "channels.email.smtp.username"
    assert "not UTF-8" in problem.message and str(tmp_path / "pw") in problem.message
    assert "caf" not in problem.message


# --- Unicode -------------------------------------------------------------------------------


def test_nfd_text_is_normalised_to_nfc(tmp_path: Path, no_secrets: None) -> None:
    """A file saved in NFD (decomposed accents, as some editors do) loads as NFC text."""
    text = SHIPPED.read_text(encoding="utf-8")
    nfd = unicodedata.normalize("NFD", text)
    assert nfd != text
    path = tmp_path / "config.toml"
    path.write_text(nfd, encoding="utf-8")
    copy_plans(tmp_path, unicodedata.normalize("NFD", SHIPPED_PLAN.read_text(encoding="utf-8")))
    settings = load(path)
    nine = settings.catalog.task("9")
    assert nine.title == "Tổ chức Hội thi sáng tạo khoa học kỹ thuật tỉnh"
    assert unicodedata.is_normalized("NFC", nine.title)
    assert nine.timing.phrase == "02 năm/lần"
    assert settings.catalog.agencies["so-noi-vu"].name == "Sở Nội vụ"
    assert settings.catalog.plan.issuer == "Ủy ban nhân dân tỉnh Kiên Giang"


def test_byte_order_mark_is_accepted(tmp_path: Path, no_secrets: None) -> None:
    """A UTF-8 file starting with a byte-order mark (Windows Notepad) loads."""
    path = tmp_path / "config.toml"
    path.write_bytes(b"\xef\xbb\xbf" + SHIPPED.read_bytes())
    copy_plans(tmp_path)
    assert len(load(path).catalog.tasks) == 11


# --- problems and the line scanner ---------------------------------------------------------


def test_problem_line_format() -> None:
    """A problem prints as "file:line: key: message", dropping the parts it does not have."""
    f = Path("/etc/reminder/config.toml")
    assert str(Problem(f, 12, "tasks[nv01].lead", "unknown")) == (
        "/etc/reminder/config.toml:12: tasks[nv01].lead: unknown"
    )
    assert str(Problem(f, None, "plan", "missing")) == "/etc/reminder/config.toml: plan: missing"
    assert str(Problem(f, 3, "", "TOML syntax error")) == (
        "/etc/reminder/config.toml:3: TOML syntax error"
    )


def test_readable_key_names_items_by_id() -> None:
    """Array items are named by their id, else by 1-based position."""
    data = {"tasks": [{"id": "nv01", "support": ["a", "b"], "milestones": [{"name": "x"}]}]}
    assert readable_key(("tasks", 0, "support", 1), data) == "tasks[nv01].support[#2]"
    assert readable_key(("tasks", 0, "milestones", 0, "due"), data) == (
        "tasks[nv01].milestones[#1].due"
    )


TRICKY = "\n".join(
    [
        '# A comment with three quotes """ must not open a string',
        "[plan]",
        'title = "x" # trailing comment',
        '"quoted key" = 1',
        "'literal key' = 2",
        "a.b.c = 3",
        '"dotted"."quo.ted" = 4',
        'note = """',
        "[fake]",
        "fake = 1",
        '"""',
        "lit = '''",
        'also = "text"',
        "'''",
        "text = \"has ''' inside\"",
        "after = 5",
        "",
        "[[tasks]]",
        'id = "a"',
        "",
        "[[tasks.milestones]]",
        'id = "m1"',
        "",
        "[[tasks.milestones]]",
        'id = "m2"',
        "",
        "[[tasks]]",
        'id = "b"',
        "",
        "[[ tasks.milestones ]]   # spaces and a comment",
        'id = "m3"',
        "",
        '[ channels . "email" ]',
        'transport = "smtp"',
        "",
    ]
)


def test_key_lines_on_tricky_toml() -> None:
    """The scanner finds dotted and quoted keys, nested arrays of tables, and skips strings."""
    tomllib.loads(TRICKY)  # the sample is valid TOML
    lines = key_lines(TRICKY)

    def line(pattern: str, nth: int = 1) -> int:
        found = [n for n, s in enumerate(TRICKY.splitlines(), 1) if s.startswith(pattern)]
        return found[nth - 1]

    assert lines[("plan",)] == line("[plan]")
    assert lines[("plan", "title")] == line("title =")
    assert lines[("plan", "quoted key")] == line('"quoted key"')
    assert lines[("plan", "literal key")] == line("'literal key'")
    assert lines[("plan", "a", "b", "c")] == line("a.b.c")
    assert lines[("plan", "dotted", "quo.ted")] == line('"dotted"')
    assert lines[("plan", "note")] == line("note =")
    assert lines[("plan", "lit")] == line("lit =")
    assert lines[("plan", "after")] == line("after =")
    assert ("fake",) not in lines and ("plan", "fake") not in lines
    assert ("plan", "also") not in lines
    assert lines[("tasks", 0)] == line("[[tasks]]")
    assert lines[("tasks", 0, "milestones", 1, "id")] == line('id = "m2"')
    assert lines[("tasks", 1, "id")] == line('id = "b"')
    assert lines[("tasks", 1, "milestones", 0)] == line("[[ tasks.milestones ]]")
    assert lines[("tasks", 1, "milestones", 0, "id")] == line('id = "m3"')
    assert lines[("channels", "email", "transport")] == line('transport = "smtp"')


def test_line_of_falls_back_to_the_enclosing_key() -> None:
    """A key that is not written points at the closest enclosing table; nothing at all → None."""
    lines = key_lines(TRICKY)
    header = lines[("tasks", 1, "milestones", 0)]
    assert line_of(("tasks", 1, "milestones", 0, "due"), lines) == header
    assert line_of(("tasks", 0, "support", 2), lines) == lines[("tasks", 0)]
    assert line_of(("calendar", "timezone"), lines) is None


def test_key_lines_match_real_error_lines(tmp_path: Path, no_secrets: None) -> None:
    """An error after a multi-line note points at the right line of the shipped-style file."""
    note = 'note = """\nNhiệm vụ này:\n[[tasks]]\nlead = "x"\n"""\n'
    config = shipped_variant(
        tmp_path,
        ('timing = "02 năm/lần"\n', note + 'timing = "02 năm/lần"\n'),
        ('assumed = true\nlead = "lhh-khkt"', 'assumed = true\nlead = "lhh-khk"'),
    )
    with pytest.raises(ConfigError) as info:
        load(config)
    (problem,) = info.value.problems
    text = (tmp_path / "plans" / "ke-hoach.toml").read_text(encoding="utf-8").splitlines()
    assert problem.key == "tasks[9].lead"
    assert problem.line is not None and text[problem.line - 1] == 'lead = "lhh-khk"'
    assert "did you mean 'lhh-khkt'?" in problem.message
