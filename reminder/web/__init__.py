"""The built-in web server: status pages, confirmation links, calendar feeds (templates/web/)."""

from reminder.web.server import WebServer, make_app

__all__ = ["WebServer", "make_app"]
