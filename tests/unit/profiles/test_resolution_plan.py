"""The resolution rule on its own (no AWS): who survives, what joins, what a limit or a split keeps out."""

from __future__ import annotations

from omnichannel.identifiers import IdentifierType as T
from profiles.logic.identity_rules import IdentityRules
from profiles.logic.resolution import plan_resolution
from profiles.models.profile import Profile
from tests.support.profiles_harness import make_event

RULES = IdentityRules()
NOW = "2026-11-23T10:00:00.000Z"


def profile(profile_id: str, created_at: str, **identifiers: str) -> Profile:
    return Profile(profile_id, 3, created_at, identifiers={T(kind): {value} for kind, value in identifiers.items()})


def test_the_oldest_profile_survives_and_ties_go_to_the_smaller_id() -> None:
    a = profile("b-id", "2026-01-01T00:00:00.000Z", anonymous_id="x")
    b = profile("a-id", "2026-01-01T00:00:00.000Z", email="e@posta.com.tr")
    c = profile("0-id", "2026-02-01T00:00:00.000Z", phone="+905321112233")
    owners = {(T.ANONYMOUS_ID, "x"): "b-id", (T.EMAIL, "e@posta.com.tr"): "a-id", (T.PHONE, "+905321112233"): "0-id"}
    event = make_event({"anonymous_id": "x", "email": "e@posta.com.tr", "phone": "+905321112233"})
    plan = plan_resolution(event, owners, {p.profile_id: p for p in (a, b, c)}, RULES, now_iso=NOW)
    assert plan is not None
    assert plan.survivor.profile_id == "a-id"
    assert [merged.profile_id for merged in plan.merged] == ["b-id", "0-id"]
    assert plan.base_version == 3
    assert plan.survivor.identifiers == {
        T.ANONYMOUS_ID: {"x"},
        T.EMAIL: {"e@posta.com.tr"},
        T.PHONE: {"+905321112233"},
    }


def test_a_second_customer_id_is_kept_out_with_its_profile_and_the_rest_still_links() -> None:
    ayse = profile("p-ayse", "2026-01-01T00:00:00.000Z", user_id="c1", anonymous_id="tablet")
    owners = {(T.ANONYMOUS_ID, "tablet"): "p-ayse"}
    event = make_event({"user_id": "c2", "anonymous_id": "tablet", "email": "mehmet@posta.com.tr"})
    plan = plan_resolution(event, owners, {"p-ayse": ayse}, RULES, now_iso=NOW)
    assert plan is not None
    assert plan.created
    assert plan.survivor.identifiers == {T.USER_ID: {"c2"}, T.EMAIL: {"mehmet@posta.com.tr"}}
    assert [(c.identifier, c.reason) for c in plan.conflicts] == [((T.ANONYMOUS_ID, "tablet"), "limit:user_id")]


def test_profiles_an_admin_split_are_not_merged_again() -> None:
    left = profile("p-l", "2026-01-01T00:00:00.000Z", loyalty_card="TR1")
    right = profile("p-r", "2026-01-02T00:00:00.000Z", email="r@posta.com.tr")
    left.split_from.add("p-r")
    right.split_from.add("p-l")
    owners = {(T.LOYALTY_CARD, "TR1"): "p-l", (T.EMAIL, "r@posta.com.tr"): "p-r"}
    plan = plan_resolution(
        make_event({"loyalty_card": "TR1", "email": "r@posta.com.tr"}),
        owners,
        {"p-l": left, "p-r": right},
        RULES,
        now_iso=NOW,
    )
    assert plan is not None
    assert plan.merged == []
    assert plan.survivor.profile_id == "p-r"  # e-mail outranks the loyalty card: its profile leads
    assert [c.reason for c in plan.conflicts] == ["split"]


def test_an_event_of_only_blocklisted_values_resolves_nothing() -> None:
    event = make_event({"email": "test@test.com", "pos_customer": "WALKIN"})
    assert plan_resolution(event, {}, {}, RULES, now_iso=NOW) is None
