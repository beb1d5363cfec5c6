"""Two profiles became one (``profile.merged``): the merged customer's journeys move to the survivor; an admin
undid it (``profile.unmerged``): they move back (pure).

A run moves when the survivor has no run of that journey; otherwise the survivor's run stands and an open run
of the merged profile ends (``exited``/``merged``): one customer, one run per journey. What this function
remembers is combined: per channel the newest consent mark, the newest KPI facts, the latest "seen" times, the
messages counted by the cap from both, segment membership if either was inside.

A moved run remembers where it came from (``merged_from``). When the merge is undone, the runs that came from the
restored profile go back to it with what the journeys sent it since (the effects of those runs, written under the
survivor while they were one), so neither customer's view shows the other's journeys. What was combined stays with
the survivor; the restored customer takes a copy of its opt-outs and cap history (a STOP either sent while they
were one keeps holding for both until a START).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from journeys.logic.ports import StoredEffect
from journeys.models.state import Change, CustomerFacts, CustomerState, Run


def _facts(survivor: CustomerFacts, merged: CustomerFacts) -> CustomerFacts:
    consent = dict(survivor.consent)
    for channel, mark in merged.consent.items():
        if channel not in consent or (consent[channel].at, not consent[channel].opted_in) < (
            mark.at,
            not mark.opted_in,
        ):
            consent[channel] = mark
    kpis = merged.kpis if str(merged.kpis.get("at", "")) > str(survivor.kpis.get("at", "")) else survivor.kpis
    seen = dict(survivor.seen)
    for key, at in merged.seen.items():
        seen[key] = max(at, seen.get(key, ""))
    segments = {
        journey: survivor.segments.get(journey, False) or merged.segments.get(journey, False)
        for journey in {*survivor.segments, *merged.segments}
    }
    sent = tuple(sorted({*survivor.sent, *merged.sent}))
    return replace(survivor, consent=consent, kpis=kpis, seen=seen, segments=segments, sent=sent)


def merge_states(survivor: CustomerState, merged: CustomerState) -> Change:
    change = Change()
    for journey_id, run in merged.runs.items():
        if journey_id not in survivor.runs:
            change.runs[journey_id] = replace(
                run, profile_id=survivor.profile_id, merged_from=merged.profile_id, revision=0
            )
        elif run.open:
            change.count(journey_id, "exited:merged")
    facts = _facts(survivor.facts, merged.facts)
    if facts != survivor.facts:
        change.facts = facts
    return change


def runs_to_restore(survivor: CustomerState, restored_id: str) -> list[Run]:
    """The survivor's runs that came from ``restored_id`` in a merge, as read (with their revisions)."""
    return [run for run in survivor.runs.values() if run.merged_from == restored_id]


def effects_to_restore(effects: Sequence[StoredEffect], runs: Sequence[Run]) -> list[StoredEffect]:
    """What the journeys sent for those runs while they were the survivor's: effects of the run's journey written
    between its entry and its end (one run per journey and customer at a time, so none of the survivor's own)."""
    spans = {run.journey_id: (run.entered_at, run.ended_at) for run in runs}
    found = []
    for effect in effects:
        span = spans.get(effect.journey_id)
        if span is not None and effect.created_at >= span[0] and (span[1] is None or effect.created_at <= span[1]):
            found.append(effect)
    return found


def restored_runs(restored: CustomerState, runs: Sequence[Run]) -> dict[str, Run]:
    """The runs as the restored customer keeps them (one it started since the undo stands)."""
    return {
        run.journey_id: replace(run, profile_id=restored.profile_id, merged_from=None, revision=0)
        for run in runs
        if run.journey_id not in restored.runs
    }


def restored_facts(survivor: CustomerFacts, restored: CustomerFacts) -> CustomerFacts | None:
    """The survivor's opt-outs and cap history, copied to the restored customer when they have no facts yet."""
    if restored.revision:
        return None
    opt_outs = {channel: mark for channel, mark in survivor.consent.items() if not mark.opted_in}
    if not opt_outs and not survivor.sent:
        return None
    return replace(restored, consent=opt_outs, sent=survivor.sent)
