"""The resolution rule on its own (no AWS): who survives, what joins, what a limit or a split keeps out."""

from __future__ import annotations

from omnichannel.canonical_event import EventType
from omnichannel.identifiers import IdentifierType as T
from omnichannel.identifiers import Provenance
from profiles.logic.identity_rules import IdentityRules
from profiles.logic.resolution import Mode, plan_resolution
from profiles.models.profile import Profile, Stamp, TraitValue
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


# ------------------------------------------------------------------ trust boundaries (issue 12)
ASSERTED = Provenance.ASSERTED


def test_an_asserted_link_never_joins_two_identities_it_becomes_a_suggested_match() -> None:
    # Given a store guest's profile (e-mail, loyalty card) and a new account's identify naming that e-mail
    guest = profile("p-guest", "2026-01-01T00:00:00.000Z", email="ayse@posta.com.tr", loyalty_card="LC1")
    event = make_event(
        {"user_id": "attacker", "email": "ayse@posta.com.tr"},
        provenance=ASSERTED,
        kind=EventType.IDENTIFY,
        traits={"email": "ayse@posta.com.tr", "name": "Mallory"},
    )
    plan = plan_resolution(event, {(T.EMAIL, "ayse@posta.com.tr"): "p-guest"}, {"p-guest": guest}, RULES, now_iso=NOW)
    # Then the account is a profile of its own, the guest's stays whole, and staff get a suggestion
    assert plan is not None
    assert plan.created
    assert plan.merged == []
    assert plan.survivor.identifiers == {T.USER_ID: {"attacker"}}
    assert [(c.identifier, c.reason) for c in plan.conflicts] == [((T.EMAIL, "ayse@posta.com.tr"), "asserted")]
    assert [(m.other_id, m.reason) for m in plan.suggestions] == [("p-guest", "asserted")]
    # And the e-mail it could not link is not kept as the account's trait either
    assert set(plan.survivor.traits) == {"name"}


def test_an_asserted_login_still_brings_the_anonymous_browsing_along() -> None:
    visitor = profile("p-visit", "2026-01-01T00:00:00.000Z", anonymous_id="web-1", device_id="d-1")
    customer = profile("p-cust", "2026-01-02T00:00:00.000Z", user_id="c-1", email="c1@posta.com.tr")
    owners = {(T.ANONYMOUS_ID, "web-1"): "p-visit", (T.USER_ID, "c-1"): "p-cust"}
    event = make_event({"user_id": "c-1", "anonymous_id": "web-1"}, provenance=ASSERTED)
    plan = plan_resolution(event, owners, {"p-visit": visitor, "p-cust": customer}, RULES, now_iso=NOW)
    assert plan is not None
    assert [merged.profile_id for merged in plan.merged] == ["p-cust"]  # the visitor's profile is older
    assert plan.conflicts == []
    # but the browsing is not the customer's to read: only the customer id is tied to it by verified links
    assert plan.survivor.anchored() == {(T.USER_ID, "c-1")}


def test_the_same_link_from_a_verified_source_merges() -> None:
    guest = profile("p-guest", "2026-01-01T00:00:00.000Z", email="ayse@posta.com.tr", loyalty_card="LC1")
    whatsapp = profile("p-wa", "2026-01-02T00:00:00.000Z", phone="+905321234567", whatsapp="905321234567")
    owners = {(T.EMAIL, "ayse@posta.com.tr"): "p-guest", (T.PHONE, "+905321234567"): "p-wa"}
    event = make_event({"email": "ayse@posta.com.tr", "phone": "+905321234567"})  # e.g. the POS, signed
    plan = plan_resolution(event, owners, {"p-guest": guest, "p-wa": whatsapp}, RULES, now_iso=NOW)
    assert plan is not None
    assert [merged.profile_id for merged in plan.merged] == ["p-wa"]
    assert plan.survivor.links[(T.EMAIL, "ayse@posta.com.tr")] == plan.survivor.links[(T.PHONE, "+905321234567")]


def test_an_undone_merge_stays_undone_through_a_third_profile() -> None:
    # Given A and B split by an admin, and B merged into an older D since
    a = profile("p-a", "2026-01-03T00:00:00.000Z", user_id="c-a")
    d = profile("p-d", "2026-01-01T00:00:00.000Z", anonymous_id="d-browser", email="b@posta.com.tr")
    a.split_from.add("p-b")
    d.merged_ids.add("p-b")
    d.split_from.add("p-a")
    owners = {(T.USER_ID, "c-a"): "p-a", (T.ANONYMOUS_ID, "d-browser"): "p-d"}
    # When an event links A's customer id with D's browser
    event = make_event({"user_id": "c-a", "anonymous_id": "d-browser"})
    plan = plan_resolution(event, owners, {"p-a": a, "p-d": d}, RULES, now_iso=NOW)
    # Then nothing merges: D holds B, whom an admin split from A
    assert plan is not None
    assert plan.merged == []
    assert [c.reason for c in plan.conflicts] == ["split"]


def test_group_traits_describe_the_group_not_the_person() -> None:
    person = profile("p-1", "2026-01-01T00:00:00.000Z", user_id="c-1")
    person.traits["name"] = TraitValue("Ayşe Yılmaz", Stamp("2026-01-01T00:00:00.000Z", "e0"), "app")
    event = make_event({"user_id": "c-1"}, kind=EventType.GROUP, group_id="moda-ltd", traits={"name": "Moda Ltd"})
    plan = plan_resolution(event, {(T.USER_ID, "c-1"): "p-1"}, {"p-1": person}, RULES, now_iso=NOW)
    assert plan is not None
    assert plan.survivor.traits["name"].value == "Ayşe Yılmaz"
    assert plan.survivor.groups["moda-ltd"].traits == {"name": "Moda Ltd"}
    assert plan.changed_traits == ["groups"]


def test_a_proof_joins_only_what_it_covers() -> None:
    # Given a guest profile with an e-mail and, typed on a web form beside it, someone else's phone
    guest = profile("p-g", "2026-01-01T00:00:00.000Z", email="x@posta.com.tr", phone="+905321110000")
    owners = {(T.EMAIL, "x@posta.com.tr"): "p-g"}
    proof = make_event({"user_id": "c-x", "email": "x@posta.com.tr"})
    plan = plan_resolution(proof, owners, {"p-g": guest}, RULES, now_iso=NOW, mode=Mode(synthetic=True, proof=True))
    # Then proving the e-mail does not claim the phone's history: a suggestion for staff instead
    assert plan is not None
    assert plan.merged == []
    assert plan.created
    assert [c.reason for c in plan.conflicts] == ["unproven"]
    # While a store guest's e-mail and card, seen together by the POS, join together
    store_guest = profile("p-g", "2026-01-01T00:00:00.000Z", email="x@posta.com.tr", loyalty_card="LC9")
    store_guest.links = {(T.EMAIL, "x@posta.com.tr"): "pos-1", (T.LOYALTY_CARD, "LC9"): "pos-1"}
    plan = plan_resolution(
        proof, owners, {"p-g": store_guest}, RULES, now_iso=NOW, mode=Mode(synthetic=True, proof=True)
    )
    assert plan is not None
    assert plan.survivor.anchored() == {(T.USER_ID, "c-x"), (T.EMAIL, "x@posta.com.tr"), (T.LOYALTY_CARD, "LC9")}
    assert plan.timeline is None  # a proof is no touchpoint
