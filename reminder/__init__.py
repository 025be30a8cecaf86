"""Nhắc hạn: deadline reminders for the tasks of a Vietnamese provincial plan."""

__version__ = "0.1.0"
