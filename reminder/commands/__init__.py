"""The `reminder` subcommands, one module per family. Each command takes the parsed arguments
and returns an exit code (reminder.exitcodes).

`COMMANDS` names the module and function of each subcommand; `cli` imports only the module of
the command it runs, so `check` and `upcoming` do not pay for the database or Telegram.
"""

from __future__ import annotations

COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("daily", "check"),
    "upcoming": ("daily", "upcoming"),
    "explain": ("daily", "explain"),
    "preview": ("daily", "preview"),
    "done": ("records", "done"),
    "history": ("records", "history"),
    "retry": ("records", "retry"),
    "report": ("reports", "report"),
    "ics": ("reports", "ics"),
    "run": ("ops", "run"),
    "send-test": ("ops", "send_test"),
    "doctor": ("ops", "doctor"),
    "ledger": ("ops", "ledger"),
    "telegram-chats": ("chats", "telegram_chats"),
    "telegram-link": ("chats", "telegram_link"),
    "zalo-link": ("chats", "zalo_link"),
    "import": ("importing", "import_"),
    "plans": ("plans", "plans"),
}
