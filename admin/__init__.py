"""Telephony admin: routes, queues, skills, hours and agents, validated, versioned and hot-reloaded."""
