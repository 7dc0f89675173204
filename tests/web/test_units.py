"""The small pure parts: roles, the sliding window, redirect targets, JSON bodies, passwords."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from agents import Role
from agents.api import parse_json_body
from agents.errors import ApiError
from agents.pages import safe_next
from agents.passwords import HashParameters, Passwords
from agents.ratelimit import Limit, SlidingWindowLimiter
from tests.web.support import CHEAP_HASHING, FakeMonotonic


@pytest.mark.parametrize(
    ("role", "required", "allowed"),
    [
        (Role.AGENT, Role.AGENT, True),
        (Role.AGENT, Role.SUPERVISOR, False),
        (Role.AGENT, Role.ADMIN, False),
        (Role.SUPERVISOR, Role.AGENT, True),
        (Role.SUPERVISOR, Role.SUPERVISOR, True),
        (Role.SUPERVISOR, Role.ADMIN, False),
        (Role.ADMIN, Role.AGENT, True),
        (Role.ADMIN, Role.SUPERVISOR, True),
        (Role.ADMIN, Role.ADMIN, True),
    ],
)
def test_role_order(role: Role, required: Role, allowed: bool) -> None:
    assert role.includes(required) is allowed


# Steps: advance the clock by a duration, then either ask (retry_after) or record.
steps = st.lists(
    st.tuples(st.floats(min_value=0, max_value=40, allow_nan=False), st.booleans()),
    max_size=60,
)


@given(
    attempts=st.integers(min_value=1, max_value=5),
    window=st.floats(min_value=1, max_value=100, allow_nan=False),
    script=steps,
)
def test_sliding_window_matches_a_reference_model(
    attempts: int, window: float, script: list[tuple[float, bool]]
) -> None:
    clock = FakeMonotonic(now=0.0)
    limiter = SlidingWindowLimiter(Limit(attempts, window), clock)
    history: list[float] = []  # every event ever recorded: the slow, obvious model
    for advance, record in script:
        clock.now += advance
        recent = sorted(t for t in history if t > clock.now - window)
        if len(recent) >= attempts:
            free_at = recent[len(recent) - attempts] + window
            expected_wait = max(1, -int(-(free_at - clock.now) // 1))
        else:
            expected_wait = 0
        assert limiter.retry_after("k") == expected_wait
        if record:
            limiter.record("k")
            history.append(clock.now)


def test_idle_keys_are_forgotten() -> None:
    clock = FakeMonotonic(now=0.0)
    limiter = SlidingWindowLimiter(Limit(2, 10.0), clock)
    limiter.record("a")
    limiter.record("b")
    assert limiter.forget() == 2
    clock.now = 11.0
    assert limiter.forget() == 0


@given(st.text())
def test_safe_next_only_returns_local_paths(value: str) -> None:
    result = safe_next(value)
    assert result.startswith("/")
    assert not result.startswith("//")
    assert "\\" not in result
    assert all(ch.isprintable() and not ch.isspace() for ch in result)
    assert result in (value, "/")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/agent", "/agent"),
        ("/a?b=c", "/a?b=c"),
        ("//evil", "/"),
        ("https://evil", "/"),
        ("/\\evil", "/"),
        ("/\t/evil", "/"),
        ("/\n/evil", "/"),
        ("/ok/\\x", "/"),
        ("javascript:alert(1)", "/"),
        (None, "/"),
    ],
)
def test_safe_next_examples(value: object, expected: str) -> None:
    assert safe_next(value) == expected


class Sample(BaseModel):
    name: str = Field(min_length=1)
    count: int


@given(st.binary(max_size=200))
def test_json_body_parser_never_fails_unexpectedly_on_bytes(raw: bytes) -> None:
    try:
        parsed = parse_json_body(raw, "application/json", Sample)
    except ApiError as error:
        assert error.status in {400, 422}
    else:
        assert parsed.name


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@given(json_values)
def test_json_body_parser_gives_field_errors_or_a_model(value: object) -> None:
    raw = json.dumps(value).encode()
    try:
        parsed = parse_json_body(raw, "application/json", Sample)
    except ApiError as error:
        assert error.status == 422
        assert error.fields
    else:
        assert isinstance(parsed, Sample)


def test_deeply_nested_json_is_a_clear_error() -> None:
    with pytest.raises(ApiError) as error:
        parse_json_body(b"[" * 100_000 + b"]" * 100_000, "application/json", Sample)
    assert error.value.status == 400


def test_password_hashes_are_salted_and_checked() -> None:
    passwords = Passwords(CHEAP_HASHING)
    first = passwords.hash("a long enough password")
    assert first != passwords.hash("a long enough password")
    assert first.startswith("$argon2id$")
    assert passwords.verify(first, "a long enough password")
    assert not passwords.verify(first, "another password")
    assert not passwords.verify(None, "a long enough password")
    assert not passwords.verify("not a hash", "a long enough password")


def test_changed_parameters_ask_for_a_rehash() -> None:
    old = Passwords(CHEAP_HASHING).hash("a long enough password")
    stronger = Passwords(HashParameters(time_cost=2, memory_cost_kib=16, parallelism=1))
    assert stronger.verify(old, "a long enough password")
    assert stronger.needs_rehash(old)
    assert not stronger.needs_rehash(stronger.hash("a long enough password"))
