"""Verified links a person or staff makes on purpose, resolved like any event (same rule, same transaction, same
announcements) but as no touchpoint.

- **A customer's proof**: their token's verified ``email`` / ``phone_number`` claims link those identifiers to
  their customer id by a verified link. A guest's history with that identifier (a store order with the e-mail, a
  WhatsApp chat from the number) joins their account, and is theirs to read, as shops link guest orders to a new
  account. Strict: a profile holding identities the proof does not cover (someone else's number beside the
  e-mail) does not join; it becomes a suggested match for staff.
- **A staff confirmation** of a suggested match: the two profiles merge (limits and undone merges still hold),
  linked by the identifier the suggestion named.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from omnichannel.canonical_event import CanonicalEvent, Channel, EventType
from omnichannel.identifiers import IdentifierType, Provenance
from profiles.logic.identity_rules import Identifier, IdentityRules
from profiles.logic.ports import Conflict, NotFound, ProfileReads
from profiles.logic.resolution import Mode
from profiles.logic.resolver_service import Outcome, ProfileResolver, Resolution
from profiles.models.profile import Profile

VERIFICATION_NAMESPACE = uuid.UUID("5e0d3c4b-8f6a-4a0e-b7d2-9c1e6f3a2b10")
PROOF_SOURCE = "customer-token"
CONFIRMATION_SOURCE = "staff-confirmation"


@dataclass(frozen=True)
class ProofOutcome:
    resolution: Resolution
    linked: list[Identifier]
    refused: list[tuple[Identifier, str]]


def _event(source: str, key: str, identifiers: dict[IdentifierType, str], now: datetime) -> CanonicalEvent:
    event_id = str(uuid.uuid5(VERIFICATION_NAMESPACE, f"{source}\x1f{key}"))
    return CanonicalEvent(
        event_id=event_id,
        message_id=event_id,
        source=source,
        type=EventType.IDENTIFY,
        channel=Channel.WEB,  # unused: a synthetic event touches no channel
        identifiers=identifiers,
        provenance=Provenance.VERIFIED,
        occurred_at=now,
        received_at=now,
    )


def prove(resolver: ProfileResolver, subject: str, proven: dict[IdentifierType, str], now: datetime) -> ProofOutcome:
    """Link ``proven`` (normalised e-mail and/or phone of the customer's token) to customer id ``subject``."""
    identifiers = {IdentifierType.USER_ID: subject, **proven}
    key = "\x1f".join(f"{kind.value}:{value}" for kind, value in sorted(identifiers.items()))
    resolution = resolver.resolve(_event(PROOF_SOURCE, key, identifiers, now), mode=Mode(synthetic=True, proof=True))
    plan = resolution.plan
    refused: list[tuple[Identifier, str]] = []
    if plan is not None:
        refused = [(conflict.identifier, conflict.reason) for conflict in plan.conflicts]
        refused += [(identifier, "blocked") for identifier in plan.blocked]
    elif resolution.outcome is Outcome.NO_IDENTIFIERS:
        refused = [((kind, value), "blocked") for kind, value in identifiers.items()]
    gone = {identifier for identifier, _ in refused}
    linked = sorted((kind, value) for kind, value in proven.items() if (kind, value) not in gone)
    return ProofOutcome(resolution, linked, refused)


def _handles(profile: Profile, other: Profile, rules: IdentityRules, preferred: str) -> dict[IdentifierType, str]:
    """One identifier of each profile, of different types (an event holds one value per type): the other's of the
    suggestion's type when it can, else the highest-priority ones."""

    def ranked(candidate: Profile) -> list[Identifier]:
        return sorted(candidate.identifier_pairs(), key=lambda item: (rules.rank(item[0]), item[1]))

    theirs_ranked = sorted(ranked(other), key=lambda item: item[0].value != preferred)
    for own in ranked(profile):
        for theirs in theirs_ranked:
            if own[0] != theirs[0]:
                return {own[0]: own[1], theirs[0]: theirs[1]}
    raise Conflict("the two profiles hold identifiers of one type only: confirm by another identifier")


def confirm_match(
    resolver: ProfileResolver,
    store: ProfileReads,
    rules: IdentityRules,
    profile_id: str,
    other_id: str,
    identifier_type: str,
    confirmed_by: str,
    now: datetime,
) -> Resolution:
    """Merge the two profiles of a suggested match, as a verified link a staff member vouches for."""
    profile, other = store.get_profile(profile_id), store.get_profile(other_id)
    if profile is None or other is None:
        raise NotFound(f"profile {profile_id if profile is None else other_id}")
    if profile.profile_id == other.profile_id:
        raise Conflict("the two profiles are one already")
    identifiers = _handles(profile, other, rules, identifier_type)
    key = f"{profile.profile_id}\x1f{other.profile_id}\x1f{confirmed_by}"
    resolution = resolver.resolve(_event(CONFIRMATION_SOURCE, key, identifiers, now), mode=Mode(synthetic=True))
    if resolution.outcome is not Outcome.MERGED:
        raise Conflict("the profiles could not be merged (a limit or an undone merge keeps them apart)")
    return resolution
