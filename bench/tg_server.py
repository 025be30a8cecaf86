"""The fake Telegram Bot API (tests/fakes/telegram_api.py) with the real limits enforced,
run as its own process (`python -m bench.tg_server`) so its timing does not share a GIL with
the client being measured.

It logs every sendMessage: (time.monotonic() on arrival, chat id, HTTP status, retry_after).
CLOCK_MONOTONIC is system-wide, so the client can compare its own monotonic times.
`--poll-wait S`: getUpdates long polls wait up to S seconds (default 1). Prints
`READY <base_url> <token>`; then reads commands on stdin: `dump` prints one JSON
line {"log": [...], "sent": [[chat_id, at], ...]}; `quit` stops.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from bench.common import REPO

sys.path.insert(0, str(REPO / "tests"))

from fakes.telegram_api import FakeTelegramAPI


class RecordingAPI(FakeTelegramAPI):
    def __init__(self, poll_wait: float = 1.0) -> None:
        super().__init__(enforce_limits=True)
        self.max_poll_wait = poll_wait  # how long a getUpdates long poll may wait
        self.log: list[tuple[float, str, int, float | None]] = []

    def _send_message(self, fields: dict[str, str]) -> Any:
        at = time.monotonic()
        response = super()._send_message(fields)
        retry_after = None
        if response.status == 429:
            retry_after = json.loads(response.body)["parameters"]["retry_after"]
        self.log.append((at, fields.get("chat_id", ""), response.status, retry_after))
        return response


def main() -> None:
    poll_wait = (
        float(sys.argv[sys.argv.index("--poll-wait") + 1]) if "--poll-wait" in sys.argv else 1.0
    )
    api = RecordingAPI(poll_wait)
    base_url, stop = api.start_in_thread()
    print(f"READY {base_url} {api.token}", flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "dump":
            with api._lock:
                sent = [[s.chat_id, s.at] for s in api.sent]
                log = list(api.log)
            print(json.dumps({"log": log, "sent": sent}), flush=True)
        elif command == "quit":
            break
    stop()


if __name__ == "__main__":
    main()
