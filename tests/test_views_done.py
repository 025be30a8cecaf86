"""The views show what the daemon will really do (issue 11 item 9).

`upcoming`, `explain` and `preview` read the completion records the daemon reads, and
`preview` prints the very digest `run --once` writes to the outbox at that instant.
"""

from __future__ import annotations

import email
import email.policy
import json
from pathlib import Path

import pytest
from helpers import write_config

from reminder.cli import main

NOW = "2026-11-26T09:00:00+07:00"
# Task 1's 2026 report is due Tue 15/12/2026: in the 10 days from NOW its D-14 rungs go out
# on 01/12 to the lead and the supporting agencies.


def run(capsys: pytest.CaptureFixture[str], config: Path, *args: str) -> str:
    """`reminder --config CONFIG ARGS…` in this process; exit 0; its stdout."""
    code = main(["--config", str(config), *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """The shipped config with its ledger and outbox in tmp_path."""
    return write_config(tmp_path)


def test_upcoming_leaves_out_done_work_and_says_so(
    capsys: pytest.CaptureFixture[str], config: Path
) -> None:
    """After `done 1 2026 --milestone bao-cao`, upcoming lists none of its reminders, and says why."""
    before = json.loads(run(capsys, config, "upcoming", "--now", NOW, "--days", "10", "--json"))
    done = [r for r in before if r["task"] == "nv01" and r["milestone"] == "bao-cao"]
    assert done
    run(capsys, config, "done", "1", "2026", "--milestone", "bao-cao", "--now", NOW)
    after = json.loads(run(capsys, config, "upcoming", "--now", NOW, "--days", "10", "--json"))
    assert after == [r for r in before if r not in done]
    table = run(capsys, config, "upcoming", "--now", NOW, "--days", "10")
    assert "Not sent, recorded as done:" in table
    assert f"  #1 2026 bao-cao: {len(done)} reminder(s) — done on 26/11/2026" in table


def test_explain_says_done_on(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    """`explain 1` after the whole 2026 occurrence is done: "done on …", no rungs for 2026."""
    run(capsys, config, "done", "1", "2026", "--now", NOW)
    out = run(capsys, config, "explain", "1", "--now", NOW)
    part = out.split("    2026 / bao-cao:")[1].split("    2027 /")[0]
    assert "done on 26/11/2026 (occurrence 2026" in part and ": no reminders" in part
    assert "reminders: D-" not in part
    assert "chủ trì reminders: D-30" in out.split("    2027 / ke-hoach:")[1]


def test_preview_skips_done_work(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    """`preview 1` after its 2026 report is done shows the next reminder that will go: 2027's."""
    assert "2026-12-01T08:00" in run(capsys, config, "preview", "1", "--now", NOW).splitlines()[0]
    run(capsys, config, "done", "1", "2026", "--milestone", "bao-cao", "--now", NOW)
    head = run(capsys, config, "preview", "1", "--now", NOW).splitlines()[0]
    assert head.startswith("# email to sonoivu@tinh.example at 2027-03-01T08:00:00+07:00"), head


def test_preview_is_the_lead_digest_run_once_writes(
    capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path
) -> None:
    """`preview 2` (no --agency) is the lead's digest: the same subject and text as the .eml
    `run --once` writes at that instant, naming the tasks it merges."""
    out = run(capsys, config, "preview", "2", "--channel", "email", "--now", NOW)
    head, subject, _blank, *body = out.splitlines()
    assert head == (
        "# email to sonoivu@tinh.example at 2026-12-01T08:00:00+07:00: one digest of "
        "5 reminders, tasks 1, 2, 4, 6, 11 (as the daemon sends it)"
    )
    main(["--config", str(config), "run", "--once", "--now", "2026-12-01T08:00:00+07:00"])
    capsys.readouterr()
    [eml] = (tmp_path / "outbox").glob("*-email-sonoivu@tinh.example-*.eml")
    sent = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert subject == f"Subject: {sent['Subject']}"
    text = sent.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "\n".join(body).strip() == text.strip()
