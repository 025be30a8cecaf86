"""Real servers for tests, on 127.0.0.1: an SMTP server (aiosmtpd) and a fake Telegram Bot API
(aiohttp). Nothing here talks to any other address."""
