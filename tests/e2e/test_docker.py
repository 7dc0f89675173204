"""The container files: compose accepts the file, and every setting they pass is a real one."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml

from config.settings import ENV_PREFIX, Settings, load_settings
from config.sip_credentials import load_sip_credentials
from tests.support import require_tool

DOCKER = Path(__file__).resolve().parents[2] / "docker"


def compose_command() -> list[str]:
    """Return the compose CLI: the docker plugin when it answers, else docker-compose."""
    docker = shutil.which("docker")
    if docker is not None:
        probe = subprocess.run(
            [docker, "compose", "version"], capture_output=True, check=False, timeout=30
        )
        if probe.returncode == 0:
            return [docker, "compose"]
    return [require_tool("docker-compose")]


def resolved_compose() -> dict[str, object]:
    """Run `compose config` on docker/compose.yaml and return what it resolved."""
    result = subprocess.run(
        [*compose_command(), "-f", str(DOCKER / "compose.yaml"), "config"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={"PATH": "/usr/bin:/bin:/usr/local/bin"},
    )
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    assert isinstance(resolved, dict)
    return resolved


def switchboard_settings(environment: dict[str, str]) -> dict[str, str]:
    """Return the SWITCHBOARD_* variables of an environment."""
    return {k: v for k, v in environment.items() if k.startswith(ENV_PREFIX)}


def test_compose_accepts_the_file_and_passes_only_real_settings() -> None:
    services = resolved_compose()["services"]
    assert isinstance(services, dict)
    assert {"switchboard", "postgres"} <= services.keys()
    environment = switchboard_settings(services["switchboard"]["environment"])
    fields = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    assert environment, "compose passes no SWITCHBOARD_* setting"
    assert set(environment) <= fields, set(environment) - fields
    settings = load_settings(environment)
    # The app's store is the compose file's PostgreSQL service, under its user and database.
    postgres = services["postgres"]["environment"]
    assert settings.effective_database_url() == (
        f"postgresql+asyncpg://{postgres['POSTGRES_USER']}:{postgres['POSTGRES_PASSWORD']}"
        f"@postgres:5432/{postgres['POSTGRES_DB']}"
    )
    # Docker must not kill the process while calls still drain.
    stop_grace = services["switchboard"]["stop_grace_period"]
    assert re.fullmatch(r"\d+s", stop_grace), stop_grace
    assert int(stop_grace[:-1]) > settings.shutdown_grace_s
    # The phones' secrets come from a compose secret, in the format the app reads.
    assert settings.sip_credentials_file == Path("/run/secrets/sip_credentials")
    secrets = services["switchboard"]["secrets"]
    assert [x["source"] if isinstance(x, dict) else x for x in secrets] == ["sip_credentials"]
    assert len(load_sip_credentials(DOCKER / "sip-credentials.example.yaml")) == 2
    published = {(p["target"], p["protocol"]) for p in services["switchboard"]["ports"]}
    assert (settings.web_port, "tcp") in published
    assert (settings.sip_port, "udp") in published
    assert (settings.rtp_port_first, "udp") in published
    assert (settings.rtp_port_last, "udp") in published


def test_dockerfile_sets_only_real_settings_and_runs_serve() -> None:
    text = (DOCKER / "Dockerfile").read_text()
    assert text.startswith("#") and "FROM python:3.11-slim" in text
    names = set(re.findall(r"\b(SWITCHBOARD_[A-Z_]+)=", text))
    fields = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    assert names and names <= fields, names - fields
    assert 'CMD ["switchboard", "serve"]' in text
    # Every package the wheel ships is copied into the image.
    packages = re.findall(r"^COPY (\w+) \./\1$", text, flags=re.MULTILINE)
    pyproject = (DOCKER.parent / "pyproject.toml").read_text()
    shipped = re.search(r"packages = \[(.*?)\]", pyproject)
    assert shipped is not None
    assert set(packages) == set(re.findall(r'"(\w+)"', shipped.group(1)))
