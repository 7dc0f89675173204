"""Roles and what each one is allowed to reach."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    """A user's role; each role includes everything the roles below it may do.

    The order is agent < supervisor < admin: a supervisor can also open what an agent can
    (to help on the floor), and an admin can also open the supervisor's board (to see the
    effect of a change). A route states the least role it needs.
    """

    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """Return the role's place in the order agent < supervisor < admin."""
        return _RANKS[self]

    def includes(self, required: Role) -> bool:
        """Tell whether this role may reach something that needs `required`."""
        return self.rank >= required.rank


_RANKS = {Role.AGENT: 0, Role.SUPERVISOR: 1, Role.ADMIN: 2}
