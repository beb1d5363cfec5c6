from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omnichannel.identifiers import (
    IdentifierType,
    InvalidIdentifier,
    clean,
    fold_case,
    normalize,
    normalize_email,
    normalize_phone,
    parse_identifier_key,
    whatsapp_id_to_phone,
)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("  Ayse.Yilmaz@Example.COM ", "ayse.yilmaz@example.com"),
        ("İLKER@örnek.com.tr", "ilker@örnek.com.tr"),  # Turkish capital dotted I folds to plain i
        ("I\u0307LKER@x.com", "ilker@x.com"),  # the same letter written decomposed
        ("ILKER@x.com", "ilker@x.com"),
        ("ışık@x.com", "ışık@x.com"),  # dotless ı is a letter of its own and stays
        ("IŞIK@X.COM", "işik@x.com"),  # ASCII I folds by the default rule
        ("Straße@Example.com", "strasse@example.com"),  # full Unicode case folding
        ("ΣΊΣΥΦΟΣ@example.gr", "σίσυφοσ@example.gr"),
        ("mailto:Bob@Example.com", "bob@example.com"),
        ("user@xn--bcher-kva.example", "user@bücher.example"),  # punycode domain read as Unicode
    ],
)
def test_email_is_trimmed_and_case_folded_for_all_of_unicode(given: str, expected: str) -> None:
    assert normalize_email(given) == expected


def test_turkish_spellings_of_one_address_meet() -> None:
    # Given the same address typed on a Turkish keyboard with caps lock, decomposed, and in lower case
    spellings = ["İPEK@ŞİRKET.COM", "i\u0307pek@şi\u0307rket.com", "ipek@şirket.com"]
    # Then they normalise to one identifier
    assert {normalize_email(spelling) for spelling in spellings} == {"ipek@şirket.com"}


def test_fold_case_keeps_dotless_and_dotted_i_apart() -> None:
    assert fold_case("ı") != fold_case("i")
    assert fold_case("İ") == fold_case("i")


@pytest.mark.parametrize("bad", ["", "   ", "null", "NULL", "undefined", "anonymous", "0", "none", "n/a", "0000"])
def test_placeholders_are_refused_as_identifiers(bad: str) -> None:
    for identifier_type in (IdentifierType.USER_ID, IdentifierType.ANONYMOUS_ID, IdentifierType.LOYALTY_CARD):
        with pytest.raises(InvalidIdentifier, match="placeholder"):
            normalize(identifier_type, bad)


@pytest.mark.parametrize("bad", ["not-an-email", "a@b", "two@@x.com", "null@example.com", "sp ace@x.com"])
def test_malformed_emails_are_refused(bad: str) -> None:
    with pytest.raises(InvalidIdentifier):
        normalize_email(bad)


@pytest.mark.parametrize(
    ("given", "region", "expected"),
    [
        ("0532 123 45 67", "TR", "+905321234567"),
        ("+90 (532) 123-45-67", "US", "+905321234567"),
        ("00905321234567", "GB", "+905321234567"),
        ("(415) 555-2671", "US", "+14155552671"),
        ("020 7946 0958", "GB", "+442079460958"),
    ],
)
def test_phones_become_e164(given: str, region: str, expected: str) -> None:
    assert normalize_phone(given, region) == expected


@pytest.mark.parametrize("bad", ["12", "0000000", "+90 123", "phone", "undefined"])
def test_invalid_phones_are_refused(bad: str) -> None:
    with pytest.raises(InvalidIdentifier):
        normalize_phone(bad, "TR")


def test_whatsapp_id_is_the_phone_number() -> None:
    assert whatsapp_id_to_phone("905321234567") == "+905321234567"
    assert normalize(IdentifierType.WHATSAPP, "+90 5321234567") == "905321234567"


def test_numbers_and_booleans() -> None:
    assert normalize(IdentifierType.USER_ID, 12345) == "12345"
    with pytest.raises(InvalidIdentifier):
        normalize(IdentifierType.USER_ID, True)
    with pytest.raises(InvalidIdentifier):
        normalize(IdentifierType.USER_ID, {"id": 1})


def test_loyalty_cards_ignore_spacing_and_case() -> None:
    assert normalize(IdentifierType.LOYALTY_CARD, "lc 0042 17") == "LC004217"


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("email:Bob@Example.com", (IdentifierType.EMAIL, "bob@example.com")),
        ("Bob@Example.com", (IdentifierType.EMAIL, "bob@example.com")),
        ("+90 532 123 45 67", (IdentifierType.PHONE, "+905321234567")),
        ("whatsapp:905321234567", (IdentifierType.WHATSAPP, "905321234567")),
        ("user_id:c-42", (IdentifierType.USER_ID, "c-42")),
    ],
)
def test_identifier_keys(key: str, expected: tuple[IdentifierType, str]) -> None:
    assert parse_identifier_key(key) == expected


def test_identifier_key_without_type_is_refused() -> None:
    with pytest.raises(InvalidIdentifier):
        parse_identifier_key("c-42")


def test_domains_follow_idna2008_not_case_folding() -> None:
    # straße.de is a registered domain of its own under IDNA2008, and its punycode spelling is the same domain
    assert normalize_email("a@straße.de") == "a@straße.de"
    assert normalize_email("a@XN--STRAE-OQA.DE") == "a@straße.de"
    assert normalize_email("a@Straße.de") != normalize_email("a@strasse.de")


def test_real_addresses_that_look_like_tests_are_kept() -> None:
    assert normalize_email("test@company.com.tr") == "test@company.com.tr"


def test_invalid_domains_are_refused() -> None:
    with pytest.raises(InvalidIdentifier):
        normalize_email("a@-bad-.com")


@pytest.mark.parametrize(
    ("given", "expected"),
    [("A@EXAMPLE.COM.", "a@example.com"), ("a@mail-1.example.co.uk", "a@mail-1.example.co.uk")],
)
def test_ascii_domains_take_the_fast_path_to_the_same_answer(given: str, expected: str) -> None:
    assert normalize_email(given) == expected


@pytest.mark.parametrize("bad", ["a@exa_mple.com", "a@example-.com", "a@" + "x" * 64 + ".com"])
def test_ascii_domains_break_no_dns_rule(bad: str) -> None:
    with pytest.raises(InvalidIdentifier):
        normalize_email(bad)


def _clean_slowly(value: str) -> str:
    visible = "".join(character for character in value if unicodedata.category(character) != "Cf")
    return unicodedata.normalize("NFC", visible).strip()


@settings(max_examples=500)
@given(st.text(alphabet=st.characters(codec="ascii")) | st.text())
def test_clean_takes_a_fast_path_for_ascii_with_the_same_result(value: str) -> None:
    # ASCII text has no format character and is its own NFC: the fast path must not change what clean answers
    assert clean(value) == _clean_slowly(value)
