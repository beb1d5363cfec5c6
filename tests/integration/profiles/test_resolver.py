"""Resolution against moto: create, attach, merge into the oldest, pointers, idempotency, merge rules."""

from __future__ import annotations

from datetime import timedelta

from omnichannel.canonical_event import Channel, EventType
from profiles.logic.identity_rules import IdentityRules
from profiles.logic.resolver_service import Outcome
from tests.support.profiles_harness import T0, make_event, profiles_in_moto


def test_unknown_identifiers_create_one_profile_and_known_ones_attach() -> None:
    with profiles_in_moto() as env:
        resolver = env.resolver()
        # Given an anonymous web visit
        first = resolver.resolve(make_event({"anonymous_id": "web-1"}))
        # When the same browser logs in with an e-mail
        second = resolver.resolve(make_event({"anonymous_id": "web-1", "email": "ayse@posta.com.tr"}))
        # Then the e-mail joins the visitor's profile
        assert first.outcome is Outcome.CREATED
        assert second.outcome is Outcome.UPDATED
        assert second.profile_id == first.profile_id
        assert env.groups() == {frozenset({("anonymous_id", "web-1"), ("email", "ayse@posta.com.tr")})}


def test_two_profiles_linked_by_an_event_merge_into_the_oldest_and_leave_a_pointer() -> None:
    with profiles_in_moto() as env:
        resolver = env.resolver()
        older = resolver.resolve(make_event({"anonymous_id": "web-1"}))
        env.clock[0] = T0 + timedelta(hours=1)
        newer = resolver.resolve(make_event({"email": "ayse@posta.com.tr"}))
        login = make_event({"anonymous_id": "web-1", "email": "ayse@posta.com.tr"})
        merged = resolver.resolve(login)
        assert merged.outcome is Outcome.MERGED
        assert merged.profile_id == older.profile_id
        assert merged.merged_ids == (newer.profile_id,)
        # The merged id answers with its survivor; its identifier items were re-pointed.
        assert newer.profile_id is not None
        survivor = env.store.get_profile(newer.profile_id)
        assert survivor is not None
        assert survivor.profile_id == older.profile_id
        assert len(env.root_profiles()) == 1
        id_items = [item for item in env.scan() if item["sk"]["S"] == "ID"]
        assert {item["profile_id"]["S"] for item in id_items} == {older.profile_id}
        [log] = env.store.merges_of(str(older.profile_id))
        # The e-mail's profile met the anonymous id, which already belonged to the older profile.
        assert (log.merged_id, log.rule, log.cause_event_id) == (newer.profile_id, "anonymous_id", login.event_id)


def test_pointer_chains_collapse_when_the_survivor_is_merged_again() -> None:
    with profiles_in_moto() as env:
        resolver = env.resolver()
        a = resolver.resolve(make_event({"anonymous_id": "a"}))
        env.clock[0] = T0 + timedelta(hours=1)
        b = resolver.resolve(make_event({"anonymous_id": "b"}))
        env.clock[0] = T0 + timedelta(hours=2)
        c = resolver.resolve(make_event({"anonymous_id": "c"}))
        resolver.resolve(make_event({"anonymous_id": "b", "device_id": "d1"}))
        resolver.resolve(make_event({"anonymous_id": "c", "email": "x@shop.tr", "device_id": "d1"}))  # c -> b
        resolver.resolve(make_event({"anonymous_id": "a", "email": "x@shop.tr"}))  # b -> a
        pointers = {
            item["profile_id"]["S"]: item.get("merged_into", {}).get("S")
            for item in env.scan()
            if item["sk"]["S"] == "PROFILE"
        }
        # c was merged into b, then b into a: c now points straight at a.
        assert pointers == {a.profile_id: None, b.profile_id: a.profile_id, c.profile_id: a.profile_id}
        assert len(env.groups()) == 1


def test_a_redelivered_event_changes_nothing() -> None:
    with profiles_in_moto() as env:
        resolver = env.resolver()
        event = make_event({"anonymous_id": "web-1", "email": "ayse@posta.com.tr"}, traits={"name": "Ayşe"})
        first = resolver.resolve(event)
        before = env.scan()
        again = resolver.resolve(event)
        assert first.outcome is Outcome.CREATED
        assert again.outcome is Outcome.DUPLICATE
        assert env.scan() == before


def test_two_profiles_with_different_customer_ids_never_merge_the_conflict_is_recorded() -> None:
    with profiles_in_moto() as env:
        resolver = env.resolver()
        # A family tablet: Ayşe logs in, later her brother on the same device.
        ayse = resolver.resolve(make_event({"anonymous_id": "tablet", "user_id": "cust-1"}))
        mehmet = resolver.resolve(make_event({"anonymous_id": "tablet", "user_id": "cust-2"}))
        assert mehmet.outcome is Outcome.CREATED
        assert mehmet.profile_id != ayse.profile_id
        assert mehmet.conflicts == 1
        assert env.groups() == {
            frozenset({("anonymous_id", "tablet"), ("user_id", "cust-1")}),
            frozenset({("user_id", "cust-2")}),
        }
        assert mehmet.profile_id is not None
        [conflict] = env.store.conflicts_of(mehmet.profile_id)
        assert conflict["reason"] == "limit:user_id"
        assert conflict["identifier_type"] == "anonymous_id"


def test_limits_per_type_are_configurable() -> None:
    rules = IdentityRules.from_settings(limits_json='{"email": 2}')
    with profiles_in_moto(rules) as env:
        resolver = env.resolver()
        resolver.resolve(make_event({"user_id": "c1", "email": "one@shop.tr"}))
        resolver.resolve(make_event({"user_id": "c1", "email": "two@shop.tr"}))
        third = resolver.resolve(make_event({"user_id": "c1", "email": "three@shop.tr"}))
        assert third.conflicts == 1
        [group] = env.groups()
        assert ("email", "three@shop.tr") not in group
        assert {("email", "one@shop.tr"), ("email", "two@shop.tr")} <= group


def test_blocklisted_junk_values_never_link_anything() -> None:
    rules = IdentityRules.from_settings(blocklist_json='{"email": ["kasa@magaza.com.tr"]}')
    with profiles_in_moto(rules) as env:
        resolver = env.resolver()
        # Two store customers whose receipts carry the till's placeholder e-mail.
        one = resolver.resolve(make_event({"loyalty_card": "TR1", "email": "kasa@magaza.com.tr"}))
        two = resolver.resolve(make_event({"loyalty_card": "TR2", "email": "kasa@magaza.com.tr"}))
        only_junk = resolver.resolve(make_event({"email": "test@example.com"}))
        assert one.profile_id != two.profile_id
        assert only_junk.outcome is Outcome.NO_IDENTIFIERS
        assert env.groups() == {frozenset({("loyalty_card", "TR1")}), frozenset({("loyalty_card", "TR2")})}


def test_traits_take_the_latest_occurred_at_not_the_latest_arrival_and_first_touch_the_earliest() -> None:
    with profiles_in_moto() as env:
        resolver = env.resolver()
        late_news = make_event(
            {"user_id": "c1"},
            at=T0 + timedelta(days=2),
            traits={"city": "İzmir"},
            channel=Channel.APP,
            kind=EventType.IDENTIFY,
        )
        old_news = make_event(
            {"user_id": "c1"},
            at=T0 + timedelta(days=1),
            traits={"city": "Ankara", "tier": "gold"},
            channel=Channel.STORE,
            kind=EventType.IDENTIFY,
        )
        first_visit = make_event(
            {"user_id": "c1"}, at=T0, channel=Channel.WEB, context={"campaign": {"source": "google", "medium": "cpc"}}
        )
        # Arrival order: newest first, the first visit last.
        for event in (late_news, old_news, first_visit):
            resolver.resolve(event)
        [item] = env.root_profiles()
        profile = env.store.get_profile(item["profile_id"]["S"])
        assert profile is not None
        assert profile.traits["city"].value == "İzmir"
        assert profile.traits["tier"].value == "gold"
        assert profile.first_touch is not None
        assert (profile.first_touch.channel, profile.first_touch.campaign) == (
            "web",
            {"source": "google", "medium": "cpc"},
        )
        assert profile.channels == {"web", "app", "store"}


def test_alias_links_the_previous_anonymous_id() -> None:
    with profiles_in_moto() as env:
        resolver = env.resolver()
        visitor = resolver.resolve(make_event({"anonymous_id": "anon-9"}))
        alias = make_event({"user_id": "cust-9"}, kind=EventType.ALIAS)
        alias = alias.model_copy(update={"previous_id": "anon-9"})
        linked = resolver.resolve(alias)
        assert linked.profile_id == visitor.profile_id
        assert env.groups() == {frozenset({("anonymous_id", "anon-9"), ("user_id", "cust-9")})}
