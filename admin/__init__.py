"""Telephony admin: routes, queues, skills and agents, validated, versioned, hot-reloaded.

The composition root calls `setup(app, engine, AdminOptions(initial, source, apply))` and
runs the admin migrations (`MIGRATIONS_DIR`, `VERSION_TABLE`) with the other packages'.
"""

from admin.service import Apply, ConfigService
from admin.web import MIGRATIONS_DIR, VERSION_TABLE, AdminOptions, setup

__all__ = ["MIGRATIONS_DIR", "VERSION_TABLE", "AdminOptions", "Apply", "ConfigService", "setup"]
