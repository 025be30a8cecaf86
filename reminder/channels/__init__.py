"""Delivery channels: one small module per transport, behind the `Channel` protocol in `base`.

A channel sends and nothing else: no database, no templates, no retries (dispatch retries).
"""
