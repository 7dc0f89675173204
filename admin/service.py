"""The live routing config: change it, version it and apply it, one change at a time.

Every change goes the same way: validate the whole proposed config by the rules of
`check-config`, write it as a new version, hand it to the running router (`apply`, a hot
reload), and only then commit the version. If the router refuses, the version rolls back and
nothing changed. One lock keeps changes in order; `base_version` refuses a change made on a
config someone else has changed since (the editor reloads instead of overwriting it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from admin.editing import describe_change, plain_data, with_item
from admin.versions import ConfigVersion, VersionStore
from config.issues import ConfigIssue
from config.loader import dump_config, validate_data, validate_document
from config.schema import ContactCentreConfig

log = logging.getLogger(__name__)

# Hot reload of the running router; raises ValueError when the router refuses the config.
Apply = Callable[[ContactCentreConfig], None]

# The file name the API's issues are reported against: the YAML the config exports as.
DRAFT_FILE = "config.yaml"
IMPORT_FILE = "import.yaml"
SYSTEM_AUTHOR = "system"


class ConfigRefused(ValueError):
    """The proposed config breaks the rules; `issues` holds every problem."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        super().__init__(f"the config has {len(issues)} problem(s)")
        self.issues = issues


class StaleVersion(Exception):
    """The change was made on an older version than the live one."""

    def __init__(self, based_on: int, live: int) -> None:
        super().__init__(
            f"the config changed since you opened it (you edited version {based_on}, "
            f"version {live} is live): reload and make the change again"
        )
        self.live = live


class ApplyRefused(Exception):
    """The running router refused the config; nothing was saved or changed."""


class UnknownVersion(LookupError):
    """No version has this id."""


class ConfigService:
    """Hold the live config and its version; change, restore and import it."""

    def __init__(
        self, versions: VersionStore, apply: Apply, initial: ContactCentreConfig, source: str
    ) -> None:
        self._versions = versions
        self._apply = apply
        self._initial = initial
        self._source = source
        self._lock = asyncio.Lock()
        self._config = initial
        self._version: ConfigVersion | None = None

    @property
    def config(self) -> ContactCentreConfig:
        """Return the live config."""
        return self._config

    @property
    def version(self) -> ConfigVersion:
        """Return the live version (after `start`)."""
        if self._version is None:
            raise RuntimeError("ConfigService.start() has not run")
        return self._version

    @property
    def versions(self) -> VersionStore:
        """Return the version store (history, diffs)."""
        return self._versions

    async def start(self) -> None:
        """Load the newest saved version; the first start saves the file's config as version 1.

        The newest saved version wins over the file the process started with, so a change
        made in the admin pages survives a restart; it is applied if it differs.
        """
        latest = await self._versions.latest()
        if latest is not None:
            saved = validate_document(latest.document, f"version {latest.id}")
            if not isinstance(saved, list):
                if saved != self._initial:
                    self._apply(saved)
                self._config, self._version = saved, latest
                log.info("config version %d is live", latest.id)
                return
            # The rules can tighten between releases; the file is then the safe choice.
            log.warning(
                "config version %d no longer passes the checks (%d issues); using %s",
                latest.id,
                len(saved),
                self._source,
            )
        async with self._versions.engine.begin() as connection:
            self._version = await self._versions.append(
                connection,
                author=SYSTEM_AUTHOR,
                summary=f"loaded from {self._source}",
                document=dump_config(self._initial),
            )
        self._config = self._initial
        log.info("config version %d saved from %s", self._version.id, self._source)

    def propose(
        self, section: str, item_id: str, value: Mapping[str, Any] | None
    ) -> ContactCentreConfig | list[ConfigIssue]:
        """Validate the live config with one item changed; return it or every issue."""
        data = with_item(plain_data(self._config), section, item_id, value)
        return validate_data(data, DRAFT_FILE)

    async def change(
        self,
        section: str,
        item_id: str,
        value: Mapping[str, Any] | None,
        *,
        author: str,
        base_version: int | None,
    ) -> ConfigVersion:
        """Change, add or remove (`value` None) one item, then save and apply the result."""
        async with self._lock:
            self._check_base(base_version)
            proposed = self.propose(section, item_id, value)
            if isinstance(proposed, list):
                raise ConfigRefused(proposed)
            summary = describe_change(plain_data(self._config), section, item_id, value is None)
            return await self._commit(proposed, author, summary)

    async def import_document(
        self, text: str, *, author: str, base_version: int | None
    ) -> ConfigVersion:
        """Replace the whole config with a YAML document, then save and apply it."""
        async with self._lock:
            self._check_base(base_version)
            proposed = validate_document(text, IMPORT_FILE)
            if isinstance(proposed, list):
                raise ConfigRefused(proposed)
            return await self._commit(proposed, author, "import the whole config from YAML")

    async def restore(self, version_id: int, *, author: str) -> ConfigVersion:
        """Make an earlier version live again, as a new version."""
        async with self._lock:
            old = await self._versions.get(version_id)
            if old is None:
                raise UnknownVersion(version_id)
            restored = validate_document(old.document, f"version {version_id}")
            if isinstance(restored, list):
                raise ConfigRefused(restored)
            return await self._commit(
                restored, author, f"restore version {version_id}", restored_from=version_id
            )

    def _check_base(self, base_version: int | None) -> None:
        if base_version is not None and base_version != self.version.id:
            raise StaleVersion(base_version, self.version.id)

    async def _commit(
        self,
        config: ContactCentreConfig,
        author: str,
        summary: str,
        restored_from: int | None = None,
    ) -> ConfigVersion:
        applied = False
        try:
            async with self._versions.engine.begin() as connection:
                version = await self._versions.append(
                    connection,
                    author=author,
                    summary=summary,
                    document=dump_config(config),
                    restored_from=restored_from,
                )
                try:
                    self._apply(config)
                except ValueError as exc:
                    # Leaving the block by exception rolls the version back.
                    log.warning("the router refused config change %r: %s", summary, exc)
                    raise ApplyRefused(str(exc)) from exc
                applied = True
        except Exception:
            if applied:
                # The version could not be committed: put the router back on the live config.
                self._apply(self._config)
            raise
        self._config, self._version = config, version
        log.info("config version %d (%s) saved by %s and applied", version.id, summary, author)
        return version
