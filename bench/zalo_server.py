"""The fake Zalo Bot API (tests/fakes/zalo_api.py) run as its own process
(`python -m bench.zalo_server --rate R --poll-wait S`) so its timing does not share a GIL
with the client being measured.

It enforces `--rate` messages a second (429 + retry_after above it), knows every chat id
("any chat exists"), and logs every sendMessage: (time.monotonic() on arrival, chat id,
HTTP status). CLOCK_MONOTONIC is system-wide, so the client can compare its own monotonic
times. Prints `READY <base_url> <token>`; then reads commands on stdin: `dump` prints one
JSON line {"log": [...], "sent": [[chat_id, at], ...], "polls": n}; `quit` stops.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from bench.common import REPO

sys.path.insert(0, str(REPO / "tests"))

from fakes.zalo_api import FakeZaloAPI


class RecordingAPI(FakeZaloAPI):
    """Every chat exists; every sendMessage is logged with its status."""

    log: list[tuple[float, str, int]]

    async def _send_message(self, body: dict[str, Any]) -> Any:
        at = time.monotonic()
        chat = str(body.get("chat_id", ""))
        self.add_chat(chat)
        response = await super()._send_message(body)
        self.log.append((at, chat, response.status))
        return response


def main() -> None:
    def arg(name: str, default: float) -> float:
        return float(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default

    api = RecordingAPI(rate=arg("--rate", 50), max_poll_wait=arg("--poll-wait", 30))
    api.log = []
    base_url, stop = api.start_in_thread()
    print(f"READY {base_url} {api.token}", flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "dump":
            sent = [[s.chat_id, s.at] for s in list(api.sent)]
            print(json.dumps({"log": list(api.log), "sent": sent, "polls": api.polls}), flush=True)
        elif command == "quit":
            break
    stop()


if __name__ == "__main__":
    main()
