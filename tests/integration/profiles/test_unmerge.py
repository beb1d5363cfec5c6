"""Undoing a wrong merge from the merge log: both profiles and their identifiers come back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from omnichannel.canonical_event import EventType
from profiles.logic.ports import Conflict
from profiles.logic.resolver_service import Outcome
from profiles.logic.unmerge import undo_merge
from tests.support.profiles_harness import T0, make_event, profiles_in_moto


def test_unmerge_restores_both_profiles_their_identifiers_and_traits_and_keeps_them_apart() -> None:
    with profiles_in_moto() as env:
        resolver = env.resolver()
        # Two customers: one shopped with a loyalty card, the other registered on the web.
        ali = resolver.resolve(
            make_event(
                {"loyalty_card": "TR-ALI", "phone": "+905321110000"}, traits={"name": "Ali"}, kind=EventType.IDENTIFY
            )
        )
        env.clock[0] = T0 + timedelta(hours=1)
        veli = resolver.resolve(
            make_event(
                {"email": "veli@posta.com.tr", "anonymous_id": "web-v"},
                traits={"name": "Veli"},
                kind=EventType.IDENTIFY,
            )
        )
        # A clerk typed Ali's card on Veli's order: the two are merged (wrongly).
        env.clock[0] = T0 + timedelta(hours=2)
        wrong = resolver.resolve(make_event({"loyalty_card": "TR-ALI", "email": "veli@posta.com.tr"}))
        assert wrong.outcome is Outcome.MERGED
        # Ali's later activity lands on the survivor.
        resolver.resolve(make_event({"phone": "+905321110000", "device_id": "ali-phone"}))
        assert ali.profile_id is not None
        assert veli.profile_id is not None
        [merge] = env.store.merges_of(ali.profile_id)

        kept, restored = undo_merge(env.store, ali.profile_id, merge.merge_id, now=T0 + timedelta(hours=3))

        assert restored.profile_id == veli.profile_id
        assert kept.profile_id == ali.profile_id
        assert restored.traits["name"].value == "Veli"
        assert kept.traits["name"].value == "Ali"
        assert env.groups() == {
            frozenset({("loyalty_card", "TR-ALI"), ("phone", "+905321110000"), ("device_id", "ali-phone")}),
            frozenset({("email", "veli@posta.com.tr"), ("anonymous_id", "web-v")}),
        }
        assert len(env.root_profiles()) == 2
        [undone] = env.store.merges_of(ali.profile_id)
        assert undone.undone_at is not None
        # The same wrong link again does not merge them: the split is remembered and the conflict recorded.
        again = resolver.resolve(make_event({"loyalty_card": "TR-ALI", "email": "veli@posta.com.tr"}))
        assert again.outcome is not Outcome.MERGED
        assert again.conflicts == 1
        assert len(env.root_profiles()) == 2
        with pytest.raises(Conflict):
            undo_merge(env.store, ali.profile_id, merge.merge_id, now=T0 + timedelta(hours=4))
