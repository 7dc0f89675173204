"""Every kind of config error names the file, the exact line, the field path and the expectation."""

from __future__ import annotations

import pytest

from config.issues import ConfigInvalid
from config.loader import load_config
from tests.config.helpers import BASE, config_of, edit, issues_of, line_of

SALES_SKILLS = "    skills: {sales: 3}"
ANN_SKILLS = "    skills: {sales: 5}"
ANN_QUEUES = "    queues: {sales: 1}"
MON = '      mon: ["09:00-17:00"]'

# (line to replace, replacement, fragment on the expected line, expected path, expected message)
CASES = [
    pytest.param(
        SALES_SKILLS,
        SALES_SKILLS + "\n    overflow: {after_s: ten, to: {queue: support}}",
        "overflow:",
        "queues.sales.overflow.after_s",
        'expected a positive number, got "ten"',
        id="wrong-type",
    ),
    pytest.param(
        SALES_SKILLS,
        SALES_SKILLS + "\n    overflow: {after_s: -5, to: {queue: support}}",
        "overflow:",
        "queues.sales.overflow.after_s",
        "expected a positive number, got -5",
        id="negative-number",
    ),
    pytest.param(
        SALES_SKILLS,
        SALES_SKILLS + "\n    rona_max_misses: true",
        "rona_max_misses",
        "queues.sales.rona_max_misses",
        "expected a whole number, 1 or more, got true",
        id="bool-for-number",
    ),
    pytest.param(
        "    name: Ann",
        "    name: Ann\n    team: blue",
        "team",
        "agents.ann.team",
        "unknown key; expected one of name, sip_username, skills, queues",
        id="unknown-key",
    ),
    pytest.param(
        SALES_SKILLS,
        SALES_SKILLS + "\n    wrap_up: 30",
        "wrap_up:",
        "queues.sales.wrap_up",
        "unknown key; expected one of name, strategy, base_priority, skills, service_level, "
        "offer_timeout_s, rona_max_misses, wrap_up_s, limits, overflow, bullseye, "
        'preferred_agent_s, aging_per_s, expected_handle_s (did you mean "wrap_up_s"?)',
        id="unknown-key-suggestion",
    ),
    pytest.param(
        '    sip_username: "1001"',
        "",
        "  ann:",
        "agents.ann.sip_username",
        "missing; this field is required",
        id="missing-field",
    ),
    pytest.param(
        ANN_QUEUES,
        "    queues: {sales: 1, salse: 2}",
        "salse",
        "agents.ann.queues.salse",
        'expected a queue defined under queues (sales, support), got "salse"',
        id="undefined-queue",
    ),
    pytest.param(
        ANN_SKILLS,
        "    skills: {sales: 5, spanish: 3}",
        "spanish",
        "agents.ann.skills.spanish",
        'expected a skill defined under skills (english, sales), got "spanish"',
        id="undefined-skill",
    ),
    pytest.param(
        "    out_of_hours: {voicemail: sales}",
        "    out_of_hours: {voicemail: sales}\n    preferred_agent: bob",
        "preferred_agent",
        "routes.main.preferred_agent",
        'expected an agent defined under agents (ann), got "bob"',
        id="undefined-agent",
    ),
    pytest.param(
        "    hours: office",
        "    hours: ofice",
        "ofice",
        "routes.main.hours",
        'expected a calendar defined under calendars (office), got "ofice"',
        id="undefined-calendar",
    ),
    pytest.param(
        "    out_of_hours: {voicemail: sales}",
        "    out_of_hours: {queue: nowhere}",
        "nowhere",
        "routes.main.out_of_hours.queue",
        'expected a queue defined under queues (sales, support), got "nowhere"',
        id="undefined-queue-in-destination",
    ),
    pytest.param(
        "      - {after_s: 30, min_proficiency: 1}",
        "      - {after_s: 30, add_queues: [billing]}",
        "billing",
        "queues.sales.bullseye.0.add_queues.0",
        'expected a queue defined under queues (sales, support), got "billing"',
        id="undefined-queue-in-bullseye",
    ),
    pytest.param(
        ANN_SKILLS,
        "    skills: {sales: 11}",
        "sales: 11",
        "agents.ann.skills.sales",
        "expected a proficiency, a whole number from 1 to 10, got 11",
        id="proficiency-above-10",
    ),
    pytest.param(
        SALES_SKILLS,
        "    skills: {sales: 0}",
        "sales: 0",
        "queues.sales.skills.sales",
        "expected a proficiency, a whole number from 1 to 10, got 0",
        id="proficiency-below-1",
    ),
    pytest.param(
        ANN_SKILLS,
        "    skills: {sales: 7.5}",
        "7.5",
        "agents.ann.skills.sales",
        "expected a proficiency, a whole number from 1 to 10, got 7.5",
        id="proficiency-not-whole",
    ),
    pytest.param(
        MON,
        '      mon: ["17:00-09:00"]',
        "17:00-09:00",
        "calendars.office.weekly.mon.0",
        'expected a time range "HH:MM-HH:MM" with the start before the end (end at most '
        '24:00), got "17:00-09:00"',
        id="time-range-backwards",
    ),
    pytest.param(
        MON,
        '      mon: ["09:00-25:00"]',
        "25:00",
        "calendars.office.weekly.mon.0",
        'expected a time range "HH:MM-HH:MM" with the start before the end (end at most '
        '24:00), got "09:00-25:00"',
        id="time-range-past-midnight",
    ),
    pytest.param(
        MON,
        '      mon: ["09:00-13:00", "12:00-17:00"]',
        "weekly:",
        "calendars.office.weekly",
        "expected time ranges that do not overlap within a day, got a mapping with mon",
        id="time-ranges-overlap",
    ),
    pytest.param(
        MON,
        '      monday: ["09:00-17:00"]',
        "monday",
        "calendars.office.weekly.monday",
        "expected one of 'mon', 'tue', 'wed', 'thu', 'fri', 'sat' or 'sun', got \"monday\"",
        id="bad-weekday",
    ),
    pytest.param(
        "    timezone: Europe/London",
        "    timezone: Mars/Olympus_Mons",
        "Olympus",
        "calendars.office.timezone",
        'expected an IANA time zone such as "Europe/London", got "Mars/Olympus_Mons"',
        id="unknown-timezone",
    ),
    pytest.param(
        "    timezone: Europe/London",
        "    timezone: Europe/Londn",
        "Londn",
        "calendars.office.timezone",
        'expected an IANA time zone (did you mean "Europe/London"?), got "Europe/Londn"',
        id="bad-timezone",
    ),
    pytest.param(
        "      - {date: 2026-12-25, name: Christmas Day}",
        "      - {date: 2026-13-25, name: Christmas Day}",
        "2026-13-25",
        "calendars.office.holidays.0.date",
        'expected a date written YYYY-MM-DD, got "2026-13-25"',
        id="bad-date",
    ),
    pytest.param(
        '    dnis: "+441632960100"',
        "    dnis: +441632960100",
        "dnis",
        "routes.main.dnis",
        'expected a quoted phone number (write "+441632960100", in quotes), got 441632960100',
        id="unquoted-phone-number",
    ),
    pytest.param(
        "    out_of_hours: {voicemail: sales}",
        "",
        "  main:",
        "routes.main.out_of_hours",
        "expected a destination for callers outside the hours (hours is set), got null",
        id="out-of-hours-needed",
    ),
    pytest.param(
        "    out_of_hours: {voicemail: sales}",
        "    out_of_hours: {voicemail: sales, queue: support}",
        "out_of_hours",
        "routes.main.out_of_hours",
        "expected exactly one of queue, voicemail, callback, refuse, redirect, "
        "got a mapping with voicemail, queue",
        id="two-destinations",
    ),
    pytest.param(
        "    out_of_hours: {voicemail: sales}",
        "    out_of_hours: {refuse: 404}",
        "404",
        "routes.main.out_of_hours.refuse",
        "expected one of 486, 480 or 503, got 404",
        id="bad-refusal-status",
    ),
    pytest.param(
        "    out_of_hours: {voicemail: sales}",
        "    out_of_hours: {redirect: support.example.com}",
        "redirect",
        "routes.main.out_of_hours.redirect",
        'expected a SIP URI such as "sip:sales@partner.example.com", got "support.example.com"',
        id="bad-sip-uri",
    ),
    pytest.param(
        SALES_SKILLS,
        SALES_SKILLS + "\n    limits: {max_length: {calls: 5, to: {redirect: 'sip:a@b.example'}}}",
        "limits",
        "queues.sales.limits.max_length.to.redirect",
        "unknown key; expected one of queue, voicemail, callback, refuse",
        id="redirect-only-on-routes",
    ),
    pytest.param(
        SALES_SKILLS,
        SALES_SKILLS + "\n    strategy: fastest",
        "fastest",
        "queues.sales.strategy",
        "expected one of 'longest_idle', 'most_skilled', 'round_robin', 'fewest_calls', "
        "'least_talk_time' or 'random_weighted', got \"fastest\"",
        id="bad-strategy",
    ),
    pytest.param(
        "      - {after_s: 30, min_proficiency: 1}",
        "      - {after_s: 30, min_proficiency: 1}\n      - {after_s: 20}",
        "bullseye:",
        "queues.sales.bullseye",
        "expected steps in strictly increasing order of after_s, got a list of 2",
        id="bullseye-out-of-order",
    ),
    pytest.param(
        "      - {after_s: 30, min_proficiency: 1}",
        "      - {after_s: 30, drop_skills: [english]}",
        "bullseye:",
        "queues.sales.bullseye",
        "expected drop_skills naming only skills this queue requires, got a list of 1",
        id="bullseye-drops-unrequired-skill",
    ),
    pytest.param(
        "version: 1",
        "version: 2",
        "version",
        "version",
        "expected one of 1, got 2",
        id="unsupported-version",
    ),
    pytest.param(
        "  english: {name: English}",
        "  english: {name: English}\n  Bad Id: {name: Bad}",
        "Bad Id",
        "skills.Bad Id",
        "expected an id of letters, digits, '.', '_' or '-' (at most 64), got \"Bad Id\"",
        id="bad-id",
    ),
    pytest.param(
        "    name: Ann",
        "    name: Ann\n    name: Anne",
        "Anne",
        "agents.ann.name",
        "duplicate key (first given on line 28)",
        id="duplicate-key",
    ),
    pytest.param(
        "    name: Sales",
        "    name: [Sales",
        # PyYAML notices on the next line; the message says where the sequence began.
        "skills: {sales: 3}",
        None,
        "YAML syntax error: expected ',' or ']', but got ':' "
        "(while parsing a flow sequence that starts on line 7)",
        id="yaml-syntax",
    ),
    pytest.param(
        "    name: Sales",
        "    name: Sales\n\tstrategy: random_weighted",
        "random_weighted",
        None,
        "YAML syntax error: found character '\\t' that cannot start any token "
        "(while scanning for the next token)",
        id="yaml-tab",
    ),
]


@pytest.mark.parametrize(("old", "new", "fragment", "path", "message"), CASES)
def test_error_names_file_line_path_and_expectation(
    old: str, new: str, fragment: str, path: str | None, message: str
) -> None:
    text = edit(old, new)
    issues = issues_of(text)
    line = line_of(text, fragment)
    where = f"test.yaml:{line}: " + (f"{path}: " if path else "")
    assert [str(issue) for issue in issues] == [where + message]
    assert issues[0].file == "test.yaml"
    assert issues[0].line == line


def test_structured_issue_keeps_path_parts() -> None:
    text = edit("      - {after_s: 30, min_proficiency: 1}", "      - {after_s: 0}")
    [issue] = issues_of(text)
    assert issue.path == ("queues", "sales", "bullseye", 0, "after_s")
    assert issue.dotted_path == "queues.sales.bullseye.0.after_s"
    assert issue.message == "expected a positive number, got 0"


def test_every_error_is_reported_at_once_in_file_order() -> None:
    text = BASE
    text = edit(SALES_SKILLS, "    skills: {sales: 3, klingon: 2}", text)
    text = edit("    timezone: Europe/London", "    timezone: Nowhere/Town", text)
    text = edit("    hours: office", "    hours: office\n    colour: blue", text)
    text = edit('    sip_username: "1001"', "    sip_username: 1001", text)
    text = edit(ANN_QUEUES, "    queues: {sales: -1, billing: 1}", text)
    issues = issues_of(text)
    assert [(issue.line, issue.dotted_path) for issue in issues] == [
        (line_of(text, "klingon"), "queues.sales.skills.klingon"),
        (line_of(text, "Nowhere/Town"), "calendars.office.timezone"),
        (line_of(text, "colour"), "routes.main.colour"),
        (line_of(text, "sip_username"), "agents.ann.sip_username"),
        (line_of(text, "billing: 1"), "agents.ann.queues.billing"),
        (line_of(text, "billing: 1"), "agents.ann.queues.sales"),
    ]


def test_shared_sip_username_is_refused_on_each_agent() -> None:
    text = BASE + '  bob:\n    name: Bob\n    sip_username: "1001"\n'
    issues = issues_of(text)
    lines = [n for n, line in enumerate(text.splitlines(), 1) if '"1001"' in line]
    assert [(issue.line, issue.dotted_path, issue.message) for issue in issues] == [
        (
            lines[0],
            "agents.ann.sip_username",
            'expected a SIP username no other agent uses, got "1001"',
        ),
        (
            lines[1],
            "agents.bob.sip_username",
            'expected a SIP username no other agent uses, got "1001"',
        ),
    ]


def test_shared_dialled_number_is_refused() -> None:
    text = BASE.replace(
        "agents:", '  second:\n    dnis: "+441632960100"\n    queue: support\nagents:'
    )
    issues = issues_of(text)
    assert [issue.dotted_path for issue in issues] == ["routes.main.dnis", "routes.second.dnis"]
    assert issues[1].line == line_of(text, "queue: support") - 1
    assert issues[1].message == 'expected a dialled number no other route uses, got "+441632960100"'


def test_a_broken_section_does_not_bury_its_references() -> None:
    # skills is a list, not a mapping: one error for it, none for every skill reference.
    text = edit("  sales: {name: Sales}", "  - sales", edit("  english: {name: English}", ""))
    issues = issues_of(text)
    assert [issue.dotted_path for issue in issues] == ["skills"]
    assert issues[0].line == line_of(text, "- sales") - 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "test.yaml:1: expected a mapping (key: value lines), got null"),
        ("- 1\n- 2\n", "test.yaml:1: expected a mapping (key: value lines), got a list of 2"),
        (
            "version: 1\nqueues: {}\n---\nversion: 1\n",
            "test.yaml:3: YAML syntax error: but found another document "
            "(expected a single document in the stream)",
        ),
        (
            "version: 1\nqueues: {}\nnote: \x07\n",
            "test.yaml:3: YAML syntax error: character #x0007 is not allowed",
        ),
    ],
)
def test_whole_document_problems(text: str, message: str) -> None:
    assert [str(issue) for issue in issues_of(text)] == [message]


def test_load_config_raises_with_every_issue(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    file = tmp_path / "centre.yaml"
    file.write_text(edit(ANN_SKILLS, "    skills: {sales: 12, french: 2}"), encoding="utf-8")
    with pytest.raises(ConfigInvalid) as raised:
        load_config(file)
    assert [issue.dotted_path for issue in raised.value.errors] == [
        "agents.ann.skills.french",
        "agents.ann.skills.sales",
    ]
    assert all(issue.file == str(file) for issue in raised.value.errors)
    assert str(raised.value).count("\n") == 1


def test_the_base_document_is_valid() -> None:
    config = config_of(BASE)
    assert list(config.queues) == ["sales", "support"]


def test_overflow_chain_that_loops_is_refused_once_where_it_starts() -> None:
    text = edit(
        SALES_SKILLS,
        SALES_SKILLS + "\n    overflow: {after_s: 60, to: {queue: support}}",
    )
    text = edit(
        "    name: Support",
        "    name: Support\n    limits: {no_agents: {after_s: 0, to: {queue: sales}}}",
        text,
    )
    assert [str(issue) for issue in issues_of(text)] == [
        f"test.yaml:{line_of(text, 'overflow:')}: queues.sales.overflow.to.queue: expected a "
        'queue that does not lead back here (sales -> support -> sales), got "support"'
    ]


def test_overflow_to_itself_is_refused_and_a_chain_without_loop_is_not() -> None:
    looping = edit(
        "    name: Support", "    name: Support\n    overflow: {after_s: 5, to: {queue: support}}"
    )
    [issue] = issues_of(looping)
    assert issue.dotted_path == "queues.support.overflow.to.queue"
    chain = edit(
        "    name: Support", "    name: Support\n    overflow: {after_s: 5, to: {queue: sales}}"
    )
    assert config_of(chain).queues["support"].overflow is not None


def test_refusal_is_logged_with_places_but_not_values(caplog: pytest.LogCaptureFixture) -> None:
    text = edit("    name: Ann", "    name: 12345")
    text = edit('    dnis: "+441632960100"', '    dnis: "+44 1632 960100"', text)
    with caplog.at_level("INFO", logger="config.loader"):
        issues_of(text)
    [record] = caplog.records
    message = record.getMessage()
    assert message.startswith("config test.yaml refused with 2 issue(s) at ")
    assert "routes.main.dnis" in message
    assert "agents.ann.name" in message
    assert "12345" not in message
    assert "1632" not in message
