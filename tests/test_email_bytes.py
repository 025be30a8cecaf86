"""The bytes an e-mail goes out as: unchanged by any speed-up of building or flattening.

`tests/golden/email_bytes.json` holds the SHA-256 of every message of a corpus as the
code flattened it before the speed-ups of issue 12 (generated at commit b78c519): the
shipped plan's 234 e-mail digests over two years as b78c519's config and templates
rendered them (`email_corpus.json.gz`: the messages, so that later wording changes do not
move the baseline), and hand-made messages with awkward headers (long Vietnamese subjects
folded at every length around the line limit, NFD input, Vietnamese display names, line
breaks, ASCII-only).
Regenerate only for an intended change of the bytes: `uv run python tests/test_email_bytes.py --write`.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import sys
import unicodedata
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from reminder.channels.email import build_email, flatten
from reminder.model import VN_TZ, Message

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden" / "email_bytes.json"
CORPUS = HERE / "golden" / "email_corpus.json.gz"
SENDERS = (
    "Văn phòng UBND tỉnh <nhachan@tinh.example>",
    "nhachan@tinh.example",
    "Ban Chỉ đạo thực hiện Kế hoạch của Ủy ban nhân dân tỉnh về chuyển đổi số <bcd@tinh.example>",
)
TITLE = "Nhắc hạn nộp báo cáo kết quả thực hiện nhiệm vụ Kế hoạch của Ủy ban nhân dân tỉnh"
WORDS = TITLE.split(" ")


def _shipped() -> Iterator[tuple[str, Message, str, str | None, datetime]]:
    """The shipped plan's e-mail digests of 2026-2027 as b78c519's config and templates
    rendered them (kept as data: later wording changes must not move this baseline)."""
    with gzip.open(CORPUS, "rt", encoding="utf-8") as f:
        rows = json.load(f)
    for row in rows:
        fields = row["message"]
        message = Message(**{**fields, "keys": tuple(fields["keys"])})
        at = datetime.fromisoformat(row["at"])
        yield row["case"], message, row["sender"], row["reply_to"], at


def _crafted() -> Iterator[tuple[str, Message, str, str | None, datetime]]:
    """Headers of every length around the fold, display names, NFD, breaks, ASCII."""
    at = datetime(2026, 12, 8, 8, 0, tzinfo=VN_TZ)
    base = Message(
        channel="email",
        address="stc@tinh.example",
        subject="",
        text="Kính gửi: Sở Tài chính\n\nĐề nghị báo cáo trước ngày 15/12/2026.\n",
        html="<p>Kính gửi: <b>Sở Tài chính</b></p>",
        message_id="<abc@tinh.example>",
        headers={"X-Reminder-Keys": "nv01|2026|bao-cao|D-3|stc|email|stc@tinh.example"},
    )
    for n in range(1, len(WORDS) + 1):
        for k, sender in enumerate(SENDERS):
            subject = " ".join(WORDS[:n]) + f" – còn {n} ngày"
            yield f"subject/{n}/{k}", _with(base, subject=subject), sender, None, at
    for n in range(60, 100, 3):
        yield f"ascii/{n}", _with(base, subject="x" * n), SENDERS[1], None, at
    nfd = unicodedata.normalize("NFD", "Nhắc hạn: Sở Tài chính – Kế hoạch số 12/KH-UBND")
    yield "nfd", _with(base, subject=nfd, text=nfd + "\n"), SENDERS[0], None, at
    yield "breaks", _with(base, subject="Nhắc\nhạn\r\nbáo cáo"), SENDERS[0], None, at
    yield "text-only", _with(base, subject="Nhắc hạn", html=None), SENDERS[0], None, at
    for name in ("Sở Tài chính", "Ủy ban nhân dân tỉnh, Văn phòng", 'Sở "Xây dựng"'):
        yield (
            f"to/{name}",
            _with(base, subject="Nhắc hạn", address=f"{name} <so@tinh.example>"),
            SENDERS[0],
            f"{name} <vanthu@tinh.example>",
            at,
        )
    extra = {"X-Reminder-Count": "40", "Comments": "Ghi chú: " + " ".join(WORDS * 2)}
    yield "extra", _with(base, subject="Nhắc hạn", headers=extra), SENDERS[2], None, at


def _with(message: Message, **changes: object) -> Message:
    from dataclasses import replace

    return replace(message, **changes)  # type: ignore[arg-type]


def digests() -> dict[str, str]:
    """Case name → SHA-256 of the message as the SMTP channel and the outbox flatten it
    (or the error that refuses it)."""
    out: dict[str, str] = {}
    for case in (*_shipped(), *_crafted()):
        name, message, sender, reply_to, at = case
        random.seed(name)  # the multipart boundary is random: make it the same each time
        try:
            data = flatten(build_email(message, sender, reply_to, now=at))
        except (ValueError, TypeError) as exc:  # refused the same way as before
            out[name] = f"error: {type(exc).__name__}"
            continue
        out[name] = hashlib.sha256(data).hexdigest()
    return out


def test_every_message_flattens_to_the_same_bytes_as_before() -> None:
    """Building and flattening give, byte for byte, what the code sent before issue 12."""
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    got = digests()
    assert len(got) > 300
    assert sorted(got) == sorted(expected)
    changed = [name for name in expected if got[name] != expected[name]]
    assert not changed, f"{len(changed)} message(s) changed, e.g. {changed[:5]}"


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    GOLDEN.write_text(json.dumps(digests(), indent=0, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN}")
