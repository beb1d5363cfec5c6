"""The online-to-store decision (pure): quiet hours across midnight and DST in the customer's zone, the
frequency cap, consent, stock, and the nearest store within the radius."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest

from omnichannel.contact_rules import FrequencyCap, QuietHours
from omnichannel.handoff_events import OutboundChannel
from outbound.store_offers.geo import Point, cell_of, cells_within, haversine_km
from outbound.store_offers.store_offer import (
    ConsentSignal,
    Facts,
    Line,
    Outcome,
    Policy,
    Store,
    channel_order,
    consented,
    decide,
    parse_channels,
)

# Kadıköy, Istanbul; a store ~3 km north-east and one ~8 km away.
HOME = Point(40.9900, 29.0300)
NEAR = Store("IST-NEAR", "Moda", Point(41.0135, 29.0500))
FAR = Store("IST-FAR", "Ataşehir", Point(40.9900, 29.1250))
WA = OutboundChannel.WHATSAPP
OPTED_IN = ConsentSignal(WA, True, "2026-01-01T10:00:00.000Z", "trait")
NOON_UTC = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)  # 12:00 in Istanbul


BASE_POLICY = Policy(
    radius_km=5.0,
    cap=FrequencyCap.parse("1/7d"),
    business_zone="Europe/Istanbul",
    quiet_hours=QuietHours.parse("21:00-09:00"),
)
BASE_FACTS = Facts(
    profile_id="p-1",
    lines=[Line("SKU-COAT", 1), Line("SKU-SCARF", 2)],
    addresses={WA: "+905321112299", OutboundChannel.EMAIL: "ayse@example.com"},
    consent=[OPTED_IN],
    origin=HOME,
    stores=[FAR, NEAR],
    stock={"IST-NEAR": {"SKU-COAT": 3, "SKU-SCARF": 2}, "IST-FAR": {"SKU-COAT": 9, "SKU-SCARF": 9}},
)


def policy(**changes) -> Policy:
    return replace(BASE_POLICY, **changes)


def facts(**changes) -> Facts:
    return replace(BASE_FACTS, **changes)


def test_the_test_stores_are_3_and_8_km_away() -> None:
    assert 2.5 < haversine_km(HOME, NEAR.location) < 3.5
    assert 7.5 < haversine_km(HOME, FAR.location) < 8.5


def test_the_nearest_store_with_stock_is_offered_on_whatsapp() -> None:
    # Given both stores hold the cart, When deciding at noon
    decision = decide(facts(), policy(radius_km=10), NOON_UTC)

    # Then the store 3 km away wins over the one 8 km away, now, on WhatsApp
    assert decision.outcome is Outcome.SENT
    assert decision.store == NEAR
    assert decision.channel is WA
    assert decision.to == "+905321112299"
    assert decision.send_at == NOON_UTC
    assert decision.distance_km is not None
    assert 2.5 < decision.distance_km < 3.5


def test_a_store_short_of_one_line_is_skipped_for_the_next_one() -> None:
    # Given the near store has one scarf of the two in the cart
    stock = {"IST-NEAR": {"SKU-COAT": 3, "SKU-SCARF": 1}, "IST-FAR": {"SKU-COAT": 1, "SKU-SCARF": 2}}

    # Then within 10 km the far store is offered; within 5 km nobody is
    assert decide(facts(stock=stock), policy(radius_km=10), NOON_UTC).store == FAR
    decision = decide(facts(stock=stock), policy(radius_km=5), NOON_UTC)
    assert decision.outcome is Outcome.NO_STOCK
    assert "5 km" in decision.reason


def test_the_same_sku_on_two_lines_needs_both_quantities() -> None:
    lines = [Line("SKU-COAT", 2), Line("SKU-COAT", 2)]
    stock = {"IST-NEAR": {"SKU-COAT": 3}}
    assert decide(facts(lines=lines, stock=stock), policy(), NOON_UTC).outcome is Outcome.NO_STOCK
    assert decide(facts(lines=lines, stock={"IST-NEAR": {"SKU-COAT": 4}}), policy(), NOON_UTC).outcome is Outcome.SENT


def test_no_profile_no_location() -> None:
    assert decide(facts(profile_id=None), policy(), NOON_UTC).outcome is Outcome.NO_PROFILE
    assert decide(facts(origin=None), policy(), NOON_UTC).outcome is Outcome.NO_LOCATION


@pytest.mark.parametrize(
    ("signals", "expected"),
    [
        pytest.param([], Outcome.NO_CONSENT, id="never-asked"),
        pytest.param([OPTED_IN], Outcome.SENT, id="opted-in"),
        pytest.param(
            [OPTED_IN, ConsentSignal(WA, False, "2026-03-01T10:00:00.000Z", "conversation")],
            Outcome.NO_CONSENT,
            id="later-stop",
        ),
        pytest.param(
            [
                ConsentSignal(WA, False, "2026-03-01T10:00:00.000Z", "conversation"),
                ConsentSignal(WA, True, "2026-04-01T10:00:00.000Z", "conversation"),
            ],
            Outcome.SENT,
            id="start-after-stop",
        ),
        pytest.param(
            [OPTED_IN, ConsentSignal(WA, False, OPTED_IN.at, "conversation")], Outcome.NO_CONSENT, id="tie-opt-out"
        ),
    ],
)
def test_consent_is_opt_in_and_the_newest_signal_wins(signals, expected) -> None:
    assert decide(facts(consent=signals), policy(), NOON_UTC).outcome is expected


def test_an_opted_out_whatsapp_falls_back_to_an_opted_in_email() -> None:
    # Given WhatsApp stopped and e-mail opted in
    signals = [
        ConsentSignal(WA, False, "2026-03-01T10:00:00.000Z", "conversation"),
        ConsentSignal(OutboundChannel.EMAIL, True, "2026-01-01T10:00:00.000Z", "trait"),
    ]
    decision = decide(facts(consent=signals), policy(), NOON_UTC)

    # Then the offer goes by e-mail
    assert decision.outcome is Outcome.SENT
    assert decision.channel is OutboundChannel.EMAIL
    assert decision.to == "ayse@example.com"


def test_a_preferred_channel_goes_first() -> None:
    signals = [OPTED_IN, ConsentSignal(OutboundChannel.EMAIL, True, OPTED_IN.at, "trait")]
    decision = decide(facts(consent=signals, preferred_channel="email"), policy(), NOON_UTC)
    assert decision.channel is OutboundChannel.EMAIL


def test_consented_ignores_other_channels() -> None:
    assert not consented([OPTED_IN], OutboundChannel.SMS)


def test_the_frequency_cap_counts_offers_in_the_window() -> None:
    # Given one offer 6 days ago, and one 8 days ago
    recent = [NOON_UTC - timedelta(days=6)]
    older = [NOON_UTC - timedelta(days=8)]

    # Then with 1 per 7 days the first is capped and the second is not; 2 per 7 days allows it
    assert decide(facts(recent_offers=recent), policy(), NOON_UTC).outcome is Outcome.CAPPED
    assert decide(facts(recent_offers=older), policy(), NOON_UTC).outcome is Outcome.SENT
    assert decide(facts(recent_offers=recent), policy(cap=FrequencyCap.parse("2/7d")), NOON_UTC).outcome is Outcome.SENT


def test_frequency_cap_parsing() -> None:
    assert FrequencyCap.parse("1/7d") == FrequencyCap(1, timedelta(days=7))
    assert FrequencyCap.parse("3/24h") == FrequencyCap(3, timedelta(hours=24))
    with pytest.raises(ValueError, match="expected"):
        FrequencyCap.parse("weekly")


@pytest.mark.parametrize(
    ("local_now", "expected_local"),
    [
        pytest.param("2026-06-10T22:30", "2026-06-11T09:00", id="evening-to-next-morning"),
        pytest.param("2026-06-11T03:15", "2026-06-11T09:00", id="after-midnight-same-morning"),
        pytest.param("2026-06-10T21:00", "2026-06-11T09:00", id="window-start-inclusive"),
        pytest.param("2026-06-11T09:00", None, id="window-end-exclusive"),
        pytest.param("2026-06-10T20:59", None, id="just-before"),
    ],
)
def test_quiet_hours_across_midnight_in_the_customer_zone(local_now, expected_local) -> None:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Europe/Istanbul")
    now = datetime.fromisoformat(local_now).replace(tzinfo=zone)
    decision = decide(facts(time_zone="Europe/Istanbul"), policy(), now.astimezone(UTC))
    if expected_local is None:
        assert decision.outcome is Outcome.SENT
    else:
        assert decision.outcome is Outcome.DEFERRED
        assert decision.send_at == datetime.fromisoformat(expected_local).replace(tzinfo=zone).astimezone(UTC)


def test_quiet_hours_follow_a_dst_change_in_the_customer_zone() -> None:
    # Given a customer in Berlin at 22:00 on the Saturday before clocks go forward (CET, UTC+1)
    now = datetime(2026, 3, 28, 21, 0, tzinfo=UTC)

    # When deciding
    decision = decide(facts(time_zone="Europe/Berlin"), policy(), now)

    # Then the offer waits until 09:00 CEST on Sunday, which is 07:00 UTC (not 08:00)
    assert decision.outcome is Outcome.DEFERRED
    assert decision.send_at == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)
    assert decision.time_zone == "Europe/Berlin"


def test_quiet_hours_when_clocks_go_back() -> None:
    # Given New York at 23:00 EDT on the Saturday before clocks go back (UTC-4), Then 09:00 EST is 14:00 UTC
    now = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
    decision = decide(facts(time_zone="America/New_York"), policy(), now)
    assert decision.send_at == datetime(2026, 11, 1, 14, 0, tzinfo=UTC)


def test_the_business_zone_stands_in_for_an_unknown_zone() -> None:
    # Given 19:00 UTC (22:00 in Istanbul, 19:00 in London) and a zone nobody knows
    now = datetime(2026, 6, 10, 19, 0, tzinfo=UTC)

    # Then Istanbul's quiet hours apply; a London customer is not in theirs yet
    assert decide(facts(time_zone="Mars/Olympus"), policy(), now).outcome is Outcome.DEFERRED
    assert decide(facts(time_zone="Europe/London"), policy(), now).outcome is Outcome.SENT


def test_quiet_hours_parsing() -> None:
    assert QuietHours.parse("21:00-09:00") == QuietHours(time(21), time(9))
    assert QuietHours.parse("off") is None
    assert QuietHours.parse("10:00-10:00") is None
    assert QuietHours.parse("13:00-14:30") == QuietHours(time(13), time(14, 30))
    with pytest.raises(ValueError, match="HH:MM"):
        QuietHours.parse("9pm-9am")


def test_quiet_hours_within_one_day() -> None:
    quiet = QuietHours.parse("13:00-14:00")
    assert quiet is not None
    assert quiet.contains(time(13, 30))
    assert not quiet.contains(time(14, 0))
    assert not quiet.contains(time(3, 0))


def test_the_grid_cells_around_a_point_include_every_store_within_the_radius() -> None:
    # Given stores on a ring 0.5 km inside a 20 km radius, in every direction
    import math

    centre = Point(41.0, 29.0)
    cells = set(cells_within(centre, 20))
    for bearing in range(0, 360, 15):
        distance = 19.5 / 111.32
        lat = centre.lat + distance * math.cos(math.radians(bearing))
        lon = centre.lon + distance * math.sin(math.radians(bearing)) / math.cos(math.radians(lat))
        point = Point(lat, lon)
        assert haversine_km(centre, point) < 20
        # Then each lies in one of the cells read
        assert cell_of(point) in cells


def test_the_grid_wraps_at_the_antimeridian() -> None:
    cells = cells_within(Point(0.0, 179.99), 10)
    assert cell_of(Point(0.0, -179.99)) in cells


# ---------------------------------------------------------------- the channels offers may use (OfferChannels)
EMAIL = OutboundChannel.EMAIL
EMAIL_OPT_IN = ConsentSignal(EMAIL, True, "2026-01-01T10:00:00.000Z", "trait")


def test_offer_channels_parse_in_order_of_preference() -> None:
    assert parse_channels("whatsapp, SMS ,email") == (WA, OutboundChannel.SMS, EMAIL)
    assert parse_channels("email,email,sms") == (EMAIL, OutboundChannel.SMS)
    for bad in ("", " , ", "whatsapp,fax"):
        with pytest.raises(ValueError, match="offer channels"):
            parse_channels(bad)


def test_a_switched_off_channel_is_never_chosen_even_when_preferred() -> None:
    # Given a customer who prefers e-mail and opted in to it only, and offers without e-mail (no SES sender)
    customer = facts(consent=[EMAIL_OPT_IN], preferred_channel="email")
    without_email = policy(channel_order=(WA, OutboundChannel.SMS))
    # Then the preference does not bring e-mail back: no channel is left, and the decision says which were asked
    decision = decide(customer, without_email, NOON_UTC)
    assert decision.outcome is Outcome.NO_CONSENT
    assert "email" not in decision.reason
    assert channel_order("email", (WA, OutboundChannel.SMS)) == [WA, OutboundChannel.SMS]
    # While with e-mail on, the same customer gets the offer by e-mail
    assert decide(customer, BASE_POLICY, NOON_UTC).channel is EMAIL
