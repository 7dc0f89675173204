"""Telephony admin: routes, queues, skills and agents, validated, versioned, hot-reloaded."""
