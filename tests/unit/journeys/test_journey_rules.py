"""The pure rules under the engine: property filters, quiet hours (across midnight and DST), the frequency cap,
consent (newest signal wins, an opt-out wins a tie), the channel order, reading survey replies, signed links,
holdout hashing and the lift statistics (checked against Newcombe's published examples)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from journeys.logic import surveys
from journeys.logic.contact import channel_order, consent, reach
from journeys.logic.holdout import held_out, position
from journeys.logic.lift import lift, wilson, z_for
from journeys.logic.matching import filter_holds
from journeys.models.definition import MessageChannel
from journeys.models.state import ConsentMark, Profile
from omnichannel.contact_rules import FrequencyCap, QuietHours

ORDER = {
    "channel": "store",
    "properties": {
        "total": "5250.00",
        "currency": "TRY",
        "vip": True,
        "products": [{"category": "coffee_machines", "price": 14999}, {"category": "coffee", "price": 449}],
        "tags": ["gift", "b2c"],
    },
}


@pytest.mark.parametrize(
    ("where", "holds"),
    [
        ({"channel": "store"}, True),
        ({"channel": "web"}, False),
        ({"properties.total": {"gte": 5000}}, True),  # a decimal string compares as a number
        ({"properties.total": {"gt": "5250.00"}}, False),
        ({"properties.total": 5250}, True),
        ({"properties.products.category": "coffee"}, True),  # any element of a list
        ({"properties.products.category": {"in": ["tea", "coffee"]}}, True),
        ({"properties.products.category": {"ne": "coffee"}}, False),  # ne must hold for every element
        ({"properties.products.category": {"not_in": ["tea"]}}, True),
        ({"properties.products.price": {"lt": 500}}, True),
        ({"properties.tags": {"contains": "gift"}}, True),
        ({"properties.vip": True}, True),
        ({"properties.vip": 1}, False),  # true is not the number 1
        ({"properties.coupon": {"exists": False}}, True),
        ({"properties.coupon": {"exists": True}}, False),
        ({"properties.coupon": "X"}, False),
        ({"properties.total": {"gte": 5000, "lt": 6000}, "channel": "store"}, True),
        ({}, True),
    ],
)
def test_property_filters(where: dict[str, object], holds: bool) -> None:
    assert filter_holds(ORDER, where) is holds


ISTANBUL, BERLIN = ZoneInfo("Europe/Istanbul"), ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("local", "zone", "expected"),
    [
        (datetime(2026, 3, 2, 20, 59, tzinfo=ISTANBUL), ISTANBUL, None),
        (datetime(2026, 3, 2, 21, 0, tzinfo=ISTANBUL), ISTANBUL, datetime(2026, 3, 3, 9, 0, tzinfo=ISTANBUL)),
        (datetime(2026, 3, 3, 2, 0, tzinfo=ISTANBUL), ISTANBUL, datetime(2026, 3, 3, 9, 0, tzinfo=ISTANBUL)),
        (datetime(2026, 3, 3, 9, 0, tzinfo=ISTANBUL), ISTANBUL, None),  # the end is not quiet any more
        # Berlin, the night of the spring change: 09:00 CEST is 07:00 UTC
        (datetime(2026, 3, 28, 22, 0, tzinfo=BERLIN), BERLIN, datetime(2026, 3, 29, 7, 0, tzinfo=UTC)),
    ],
)
def test_quiet_hours_wait_until_the_window_ends_on_the_local_clock(
    local: datetime, zone: ZoneInfo, expected: datetime | None
) -> None:
    window = QuietHours.parse("21:00-09:00")
    assert window is not None
    assert window.send_at(local.astimezone(UTC), zone) == expected
    assert QuietHours.parse("off") is None
    with pytest.raises(ValueError, match="HH:MM-HH:MM"):
        QuietHours.parse("9pm-9am")


def test_the_frequency_cap_counts_the_window_only() -> None:
    cap = FrequencyCap.parse("2/7d")
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    old, recent = "2026-03-01T12:00:00.000Z", "2026-03-09T12:00:00.000Z"
    assert cap.allows([old, old, recent], now)
    assert not cap.allows([recent, recent], now)
    assert cap.recent([old, recent], now) == [recent]


def test_consent_is_opt_in_the_newest_signal_wins_and_an_opt_out_wins_a_tie() -> None:
    profile = Profile(
        "p1",
        {"whatsapp": ["905321110001"], "phone": ["+905321110001"], "email": ["a@kahve.com.tr"]},
        {"consent": {"whatsapp": True, "email": "opted_out"}, "preferred_channel": "SMS"},
        {"consent": "2026-03-01T10:00:00.000Z"},
    )
    # A STOP on WhatsApp after the trait, a START on SMS at the very same time as... nothing else
    marks = {
        "whatsapp": ConsentMark(False, "2026-03-02T10:00:00.000Z", "STOP"),
        "sms": ConsentMark(True, "2026-03-02T10:00:00.000Z", "START"),
    }
    assert consent(profile, marks) == {MessageChannel.WHATSAPP: False, MessageChannel.EMAIL: False,
                                       MessageChannel.SMS: True}  # fmt: skip
    # A tie between an opt-in trait and an opt-out reply: the opt-out wins
    tie = {"whatsapp": ConsentMark(False, "2026-03-01T10:00:00.000Z")}
    assert consent(profile, tie)[MessageChannel.WHATSAPP] is False
    # No signal is no consent; the preferred channel comes first, then the step's order
    seen = reach(profile, marks)
    assert seen.preferred is MessageChannel.SMS
    assert seen.reachable(MessageChannel.SMS)
    assert not seen.reachable(MessageChannel.WHATSAPP)
    order = channel_order("preferred", [MessageChannel.EMAIL, MessageChannel.WHATSAPP], None, seen.preferred)
    assert order == [MessageChannel.EMAIL, MessageChannel.WHATSAPP]  # SMS is not allowed in this step
    assert channel_order("touchpoint", list(MessageChannel), "whatsapp", MessageChannel.EMAIL) == [
        MessageChannel.WHATSAPP,
        MessageChannel.EMAIL,
        MessageChannel.SMS,
    ]
    assert channel_order("touchpoint", list(MessageChannel), "store", None) == list(MessageChannel)


@pytest.mark.parametrize(
    ("text", "kind", "score"),
    [
        ("9", "nps", 9),
        (" 10 ", "nps", 10),
        ("9/10", "nps", 9),
        ("10 / 10", "nps", 10),
        ("8 out of 10!", "nps", 8),
        ("Puanım 7", "nps", 7),
        ("0", "nps", 0),
        ("11", "nps", None),
        ("I would give it a 9 but the queue at store 3 was long", "nps", None),
        ("between 7 and 8", "nps", None),
        ("Merhaba, siparişim ne zaman gelir?", "nps", None),
        ("", "nps", None),
        ("5", "csat", 5),
        ("0", "csat", None),
        ("4/5", "csat", 4),
        ("6", "csat", None),
    ],
)
def test_a_reply_is_an_answer_only_when_it_is_one_number_on_the_scale(text: str, kind: str, score: int | None) -> None:
    assert surveys.score_from_reply(text, kind) == score


def test_low_answers_are_detractors_and_low_csat() -> None:
    assert [s for s in range(11) if surveys.is_low("nps", s)] == [0, 1, 2, 3, 4, 5, 6]
    assert [s for s in range(1, 6) if surveys.is_low("csat", s)] == [1, 2]
    assert [surveys.category("nps", s) for s in (6, 7, 9)] == ["detractor", "passive", "promoter"]


def test_a_signed_link_verifies_and_refuses_forgery_tampering_and_expiry() -> None:
    key = b"survey-key"
    now = datetime(2026, 3, 2, 10, tzinfo=UTC)
    claim = surveys.LinkClaim("post_visit_nps", "p1", 2, "ask_nps", "nps", int((now + timedelta(days=3)).timestamp()))
    token = surveys.sign(claim, key)
    assert surveys.verify(token, key, now) == claim
    body, signature = token.split(".")
    tampered = surveys.sign(surveys.LinkClaim("post_visit_nps", "p2", 2, "ask_nps", "nps", claim.expires), key)
    for bad, reason in [
        (f"{tampered.split('.')[0]}.{signature}", "forged"),  # another customer's payload, this signature
        (token, "forged"),  # checked with another key below
        ("no-dot-at-all", "malformed"),
        (f"{body}.!!!", "forged"),
    ]:
        with pytest.raises(surveys.BadLink) as refused:
            surveys.verify(bad, b"other-key" if bad == token else key, now)
        assert refused.value.reason == reason
    with pytest.raises(surveys.BadLink, match="expired"):
        surveys.verify(token, key, now + timedelta(days=4))
    links = surveys.links("https://api.test/", token, "csat")
    assert sorted(links) == ["survey_link", *(f"survey_link_{n}" for n in range(1, 6))]
    assert links["survey_link_5"] == f"https://api.test/journeys/surveys/answer?token={token}&score=5"


def test_holdout_is_stable_nested_and_independent_per_journey() -> None:
    profiles = [f"p-{n}" for n in range(20_000)]
    ten = {p for p in profiles if held_out("j1", p, 0.1)}
    twenty = {p for p in profiles if held_out("j1", p, 0.2)}
    other = {p for p in profiles if held_out("j2", p, 0.1)}
    assert ten <= twenty  # a larger share keeps everyone already held out
    assert 0.09 < len(ten) / len(profiles) < 0.11
    assert {p for p in profiles if held_out("j1", p, 0.1)} == ten  # the same every time
    assert 0.005 < len(ten & other) / len(profiles) < 0.015  # independent: about 0.1 x 0.1
    assert not any(held_out("j1", p, 0.0) for p in profiles)
    assert 0.0 <= position("j1", "p-1") < 1.0


def test_lift_statistics_match_newcombes_published_examples() -> None:
    # Wilson's interval for 81/263 (Newcombe 1998, part I); Newcombe's method 10 for 56/70 - 48/80 and 10/10 - 0/10
    low, high = wilson(81, 263, z_for(0.95))
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    example = lift(70, 56, 80, 48)
    assert example.absolute == pytest.approx(0.2)
    assert example.absolute_interval is not None
    assert tuple(round(v, 4) for v in example.absolute_interval) == (0.0524, 0.3339)
    extreme = lift(10, 10, 10, 0).absolute_interval
    assert extreme is not None
    assert (round(extreme[0], 4), round(extreme[1], 4)) == (0.6075, 1.0)
    # Relative lift with Katz's interval; the p-value of no difference
    assert example.relative == pytest.approx(1 / 3)
    assert example.relative_interval is not None
    assert example.relative_interval[0] > 0
    assert example.p_value is not None
    assert example.p_value < 0.01
    # An empty group gives no figures, not a division by zero
    empty = lift(10, 3, 0, 0)
    assert (empty.absolute, empty.absolute_interval, empty.holdout_rate) == (None, None, None)
    with pytest.raises(ValueError, match="between 0"):
        lift(10, 11, 10, 0)
