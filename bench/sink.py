"""A loopback SMTP sink for the benchmarks, run as its own process (`python -m bench.sink`).

It runs in a process of its own so that the server's CPU does not compete with the client
being measured for one GIL. It accepts everything, parses nothing, and records for each
message the wall-clock receipt time (time.time()), the envelope and the client's port (one
port per connection). A small line protocol on a second port reads and resets the records:
`count`, `connections` (accepted since the last reset), `dump` (JSON lines), `reset`, `quit`.

On start it prints one line to stdout: `READY <smtp_port> <control_port>`.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import warnings
from typing import Any

warnings.filterwarnings("ignore", category=DeprecationWarning)

from aiosmtpd.smtp import SMTP  # noqa: E402

HOST = "127.0.0.1"


class Handler:
    def __init__(self) -> None:
        self.records: list[tuple[float, str, list[str], int, int]] = []
        self.connections = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        size = len(envelope.content or b"")
        self.records.append(
            (time.time(), envelope.mail_from, list(envelope.rcpt_tos), size, session.peer[1])
        )
        return "250 2.0.0 OK: queued"


async def main() -> None:
    handler = Handler()
    loop = asyncio.get_running_loop()
    done = asyncio.Event()

    class CountingSMTP(SMTP):
        def connection_made(self, transport: Any) -> None:
            handler.connections += 1
            super().connection_made(transport)

    def factory() -> SMTP:
        # hostname given: aiosmtpd would otherwise call socket.getfqdn()
        return CountingSMTP(handler, hostname="sink.bench.localhost", decode_data=False)

    smtp_server = await loop.create_server(factory, HOST, 0, backlog=512)

    async def control(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := (await reader.readline()).decode().strip():
            if line == "count":
                writer.write(f"{len(handler.records)}\n".encode())
            elif line == "connections":
                writer.write(f"{handler.connections}\n".encode())
            elif line == "dump":
                for rec in handler.records:
                    writer.write((json.dumps(rec) + "\n").encode())
                writer.write(b"END\n")
            elif line == "reset":
                handler.records.clear()
                handler.connections = 0
                writer.write(b"OK\n")
            elif line == "quit":
                writer.write(b"BYE\n")
                done.set()
            await writer.drain()
        writer.close()

    control_server = await asyncio.start_server(control, HOST, 0)
    smtp_port = smtp_server.sockets[0].getsockname()[1]
    control_port = control_server.sockets[0].getsockname()[1]
    print(f"READY {smtp_port} {control_port}", flush=True)
    await done.wait()
    smtp_server.close()
    control_server.close()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
