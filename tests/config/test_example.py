"""The shipped example is a valid, realistic centre, and a config survives export and re-import."""

from __future__ import annotations

import dataclasses

import pydantic
import pytest

from config.loader import dump_config, load_config, validate_data, validate_document
from config.schema import ContactCentreConfig
from tests.config.helpers import BASE, EXAMPLE, config_of


@pytest.fixture(scope="module")
def example() -> ContactCentreConfig:
    return load_config(EXAMPLE)


def test_example_describes_the_centre_the_brief_asks_for(example: ContactCentreConfig) -> None:
    assert set(example.queues) == {"sales", "support", "vip_care", "billing"}
    assert 10 <= len(example.agents) <= 14
    assert {code.name for code in example.reason_codes.values()} >= {
        "Lunch",
        "Training",
        "Meeting",
        "Break",
    }
    assert {d.name for d in example.dispositions.values()} >= {
        "Resolved",
        "Follow-up needed",
        "Sale",
        "No sale",
        "Escalated",
        "Wrong number",
    }
    assert sorted(a.sip_username for a in example.agents.values()) == [
        str(n) for n in range(1001, 1013)
    ]
    assert any(queue.overflow and queue.overflow.to.queue for queue in example.queues.values())
    assert all(queue.bullseye for queue in example.queues.values())
    assert any(calendar.holidays for calendar in example.calendars.values())


def test_example_agents_overlap_in_skills_and_queues(example: ContactCentreConfig) -> None:
    in_several = [a for a in example.agents.values() if len(a.queues) > 1]
    assert len(in_several) >= 4
    for skill in ("sales", "tech_support", "billing", "vip_care"):
        levels = {a.skills[skill] for a in example.agents.values() if skill in a.skills}
        assert len(levels) >= 2, f"{skill} should be held at different proficiencies"


@pytest.mark.parametrize("source", ["example", "base"])
def test_dump_round_trips(source: str, example: ContactCentreConfig) -> None:
    config = example if source == "example" else config_of(BASE)
    text = dump_config(config)
    again = validate_document(text, "exported.yaml")
    assert again == config
    assert dump_config(config_of(text)) == text


def test_config_is_frozen_all_the_way_down(example: ContactCentreConfig) -> None:
    with pytest.raises(pydantic.ValidationError):
        example.queues["sales"].wrap_up_s = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        example.queues["sales"] = example.queues["support"]  # type: ignore[index]
    with pytest.raises(TypeError):
        example.agents["ben.hughes"].skills["sales"] = 10  # type: ignore[index]
    assert isinstance(example.queues["sales"].bullseye, tuple)
    assert not dataclasses.is_dataclass(example)


def test_defaults_fill_what_a_minimal_file_leaves_out() -> None:
    config = config_of("version: 1\nqueues:\n  q: {name: Q}\n")
    queue = config.queues["q"]
    assert queue.strategy == "longest_idle"
    assert queue.service_level.threshold_s == 20
    assert queue.overflow is None
    assert dict(config.tiers) == {"platinum": 30, "gold": 20, "standard": 0}
    assert config.routes == {}


def test_plain_data_is_validated_by_the_same_rules(example: ContactCentreConfig) -> None:
    data = example.model_dump(mode="json", exclude_none=True)
    assert validate_data(data) == example
    data["queues"]["sales"]["wrap_up_s"] = "long"
    issues = validate_data(data, "proposed.yaml")
    assert isinstance(issues, list)
    [issue] = issues
    assert (issue.file, issue.dotted_path) == ("proposed.yaml", "queues.sales.wrap_up_s")
    assert issue.message == 'expected a number, 0 or more, got "long"'
    exported = dump_config(example).replace("wrap_up_s: 30.0", 'wrap_up_s: "long"', 1)
    assert issue.line == exported.splitlines().index('    wrap_up_s: "long"') + 1
