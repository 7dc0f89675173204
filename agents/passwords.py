"""Password hashing with argon2id (argon2-cffi), with rehash when the parameters change."""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024


@dataclass(frozen=True)
class HashParameters:
    """The argon2id cost; the defaults are argon2-cffi's (RFC 9106 low-memory profile)."""

    time_cost: int = 3
    memory_cost_kib: int = 65536
    parallelism: int = 4


class Passwords:
    """Hash and check passwords with one set of argon2id parameters."""

    def __init__(self, parameters: HashParameters = HashParameters()) -> None:
        self._hasher = PasswordHasher(
            time_cost=parameters.time_cost,
            memory_cost=parameters.memory_cost_kib,
            parallelism=parameters.parallelism,
        )
        # Checked against when the username is unknown, so a miss costs as long as a hit and
        # the response time does not tell which usernames exist.
        self._dummy_hash = self._hasher.hash("not a real password, only spends the time")

    def hash(self, password: str) -> str:
        """Return the encoded argon2id hash of `password`."""
        return self._hasher.hash(password)

    def verify(self, encoded: str | None, password: str) -> bool:
        """Tell whether `password` matches `encoded` (None: spend the same time, then say no)."""
        try:
            return self._hasher.verify(encoded or self._dummy_hash, password) and bool(encoded)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, encoded: str) -> bool:
        """Tell whether `encoded` was made with other parameters than the current ones."""
        return self._hasher.check_needs_rehash(encoded)


def password_problem(password: str) -> str | None:
    """Return why `password` is not acceptable, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"must be at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"must be at most {MAX_PASSWORD_LENGTH} characters"
    return None
