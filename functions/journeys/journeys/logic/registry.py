"""The journeys in force: for each id its versions, the newest for new entries (pure).

A run keeps the version it entered with while that version is deployed; when it is gone (the retailer replaced
the file), the run continues on the newest version at the same step id, and ends (``definition_changed``) when
that step no longer exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from journeys.models.definition import JourneyDefinition

MESSAGE_RECEIVED = "Message Received"
SURVEY_ANSWERED = "Survey Answered"


@dataclass(frozen=True)
class Registry:
    versions: dict[str, dict[int, JourneyDefinition]] = field(default_factory=dict)

    @classmethod
    def of(cls, definitions: Iterable[JourneyDefinition]) -> Registry:
        versions: dict[str, dict[int, JourneyDefinition]] = {}
        for definition in definitions:
            versions.setdefault(definition.id, {})[definition.version] = definition
        return cls(versions)

    def latest(self, journey_id: str) -> JourneyDefinition | None:
        found = self.versions.get(journey_id)
        return found[max(found)] if found else None

    def current(self) -> list[JourneyDefinition]:
        """The newest version of every journey, by id."""
        return [self.versions[journey_id][max(self.versions[journey_id])] for journey_id in sorted(self.versions)]

    def accepting(self) -> list[JourneyDefinition]:
        """Journeys taking new entries (newest version, enabled)."""
        return [definition for definition in self.current() if definition.enabled]

    def for_run(self, journey_id: str, version: int, step_id: str | None) -> JourneyDefinition | None:
        """The definition a run goes on with (its own version, else the newest holding its step), or None."""
        found = self.versions.get(journey_id) or {}
        if version in found:
            return found[version]
        newest = self.latest(journey_id)
        if newest is None or (step_id is not None and not newest.has_step(step_id)):
            return None
        return newest

    def event_names(self) -> set[str]:
        """The captured events any journey listens to, and the two every customer's runs need."""
        names = {MESSAGE_RECEIVED, SURVEY_ANSWERED}
        for versions in self.versions.values():
            for definition in versions.values():
                names |= definition.event_names()
        return names

    def seen_names(self) -> set[str]:
        return {name for versions in self.versions.values() for d in versions.values() for name in d.seen_names()}
