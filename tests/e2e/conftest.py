"""Fixtures for the end-to-end tests: real Chromium from the web tests."""

from __future__ import annotations

from tests.web.browser import browser, console_messages, page  # noqa: F401  (fixtures)
