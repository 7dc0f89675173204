"""Domain errors of crm_bridge; they know no transport (the edges map them to replies)."""

from __future__ import annotations


class CrmError(Exception):
    """Base of every crm_bridge error."""


class InvalidInput(CrmError, ValueError):
    """Input that cannot be stored: the message says which field and why."""


class CustomerNotFound(CrmError, LookupError):
    """No customer has the given id."""


class CaseNotFound(CrmError, LookupError):
    """No case with the given id belongs to the customer."""


class CrmUnavailable(CrmError):
    """The directory (an external CRM, the database) failed or answered with garbage."""
