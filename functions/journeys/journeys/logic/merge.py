"""Two profiles became one (``profile.merged``): the merged customer's journeys move to the survivor (pure).

A run moves when the survivor has no run of that journey; otherwise the survivor's run stands and an open run
of the merged profile ends (``exited``/``merged``): one customer, one run per journey. What this function
remembers is combined: per channel the newest consent mark, the newest KPI facts, the latest "seen" times, the
messages counted by the cap from both, segment membership if either was inside.
"""

from __future__ import annotations

from dataclasses import replace

from journeys.models.state import Change, CustomerFacts, CustomerState


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
            change.runs[journey_id] = replace(run, profile_id=survivor.profile_id, revision=0)
        elif run.open:
            change.count(journey_id, "exited:merged")
    facts = _facts(survivor.facts, merged.facts)
    if facts != survivor.facts:
        change.facts = facts
    return change
