"""Identifiers: one spelling per real-world identifier, so that every channel's view of a customer resolves to the
same key, and one place that says which values never link anyone.

- ``normalize`` (every place an identifier enters: ``userId``, ``anonymousId``, alias ``previousId``, traits,
  ``context.externalIds``, webhooks, lookups) cleans and type-checks the value and refuses placeholders
  (``null``, ``anonymous``, ``0``, ``[object Object]``, a lone zero-width space ...): they would link strangers.
- ``is_unlinkable``: valid values that still never link anything (``test@test.com``, reserved example domains,
  walk-in POS numbers): the profiles resolver and carts skip them; the events keep them.
- ``Provenance``: how sure we are that identifiers seen together belong together (verified or asserted).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from enum import StrEnum
from functools import lru_cache


class IdentifierType(StrEnum):
    """Every kind of identifier a touchpoint can carry. The events table has one index per type."""

    ANONYMOUS_ID = "anonymous_id"  # browser cookie / app install id (Segment anonymousId)
    DEVICE_ID = "device_id"  # context.device.id
    USER_ID = "user_id"  # the retailer's customer id (Segment userId)
    EMAIL = "email"
    PHONE = "phone"  # E.164
    WHATSAPP = "whatsapp"  # WhatsApp wa_id (digits of the international number)
    MESSENGER = "messenger"  # page-scoped id (PSID)
    INSTAGRAM = "instagram"  # Instagram-scoped id (IGSID)
    LOYALTY_CARD = "loyalty_card"
    POS_CUSTOMER = "pos_customer"  # the store system's customer number


class Provenance(StrEnum):
    """How an event's identifiers came to be linked.

    ``verified``: a source that vouches for them (a signed channel webhook's sender, a store's POS, a server-side
    write key, a customer token's verified claims). ``asserted``: whatever a client-side write key (browser,
    app: its key is public) says. A link decided on asserted identifiers never gives a customer access.
    """

    VERIFIED = "verified"
    ASSERTED = "asserted"


class InvalidIdentifier(ValueError):
    """A value that cannot serve as this identifier type (placeholder, malformed, too long)."""

    def __init__(self, identifier_type: IdentifierType | str, reason: str) -> None:
        super().__init__(f"{identifier_type}: {reason}")
        self.identifier_type = str(identifier_type)
        self.reason = reason


MAX_IDENTIFIER_LENGTH = 256

# Values SDKs, forms, integrations and test devices send when they have nothing, compared after cleaning, trimming
# and case folding: a JavaScript ``String(undefined)``, ``String({})``, Python's ``str(None)``, a C ``(null)``, a
# JSON boolean written as text, a zeroed advertising id. Each would link every stranger who sends it.
PLACEHOLDER_VALUES = frozenset(
    {
        "",
        "null",
        "(null)",
        "<null>",
        "nil",
        "none",
        "undefined",
        "nan",
        "true",
        "false",
        "anonymous",
        "anon",
        "unknown",
        "guest",
        "user",
        "userid",
        "user_id",
        "anonymousid",
        "anonymous_id",
        "id",
        "n/a",
        "na",
        "-",
        "0",
        "-1",
        "{}",
        "[]",
        '""',
        "''",
        "[object object]",
        "00000000-0000-0000-0000-000000000000",  # zeroed IDFA / GAID / UUID
        "0000-0000-0000-0000",
        "9774d56d682e549c",  # the Android ID one Android release gave many devices
    }
)
# Placeholders that are also ordinary mailbox names (``user@company.com``): refused as ids, kept as e-mail local parts.
_MAILBOX_NAMES = frozenset({"user", "userid", "user_id", "id", "anonymousid", "anonymous_id"})
_ALL_ZEROS = re.compile(r"^[0\-]+$")
_EMAIL_SHAPE = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")
_DIGITS = re.compile(r"^\d{6,20}$")
_COMBINING_DOT_ABOVE = "\u0307"


def clean(value: str) -> str:
    """``value`` without invisible format characters (zero-width space U+200B, joiners, BOM, soft hyphen ...)
    anywhere, in NFC, trimmed of Unicode white space: what a person cannot see is never part of an identifier."""
    if value.isascii():  # nearly every id: ASCII has no format character and is its own NFC (a fast path)
        return value.strip()
    visible = "".join(character for character in value if unicodedata.category(character) != "Cf")
    return unicodedata.normalize("NFC", visible).strip()


def is_placeholder(value: str) -> bool:
    """A value that stands for "nothing": a known placeholder, all zeros, or words that each are one
    (``undefined undefined``, ``null null``)."""
    folded = clean(value).casefold()
    if folded in PLACEHOLDER_VALUES or _ALL_ZEROS.match(folded):
        return True
    words = folded.split()
    return len(words) > 1 and all(word in PLACEHOLDER_VALUES for word in words)


def _text(identifier_type: IdentifierType | str, value: object) -> str:
    """The one type check and cleaning every identifier goes through: text or a whole number (a JSON boolean, a
    float, an object or a list is never an id), invisible characters removed, trimmed, not a placeholder."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InvalidIdentifier(identifier_type, "must be a string")
    text = clean(str(value))
    if is_placeholder(text):
        raise InvalidIdentifier(identifier_type, "placeholder value")
    if len(text) > MAX_IDENTIFIER_LENGTH:
        raise InvalidIdentifier(identifier_type, f"longer than {MAX_IDENTIFIER_LENGTH} characters")
    return text


def _dotted_i(text: str) -> str:
    """Turkish capital dotted I (U+0130), written composed or as ``I``/``i`` + COMBINING DOT ABOVE, as plain ``i``."""
    decomposed = unicodedata.normalize("NFD", text.replace("\u0130", "i"))
    return decomposed.replace("I" + _COMBINING_DOT_ABOVE, "i").replace("i" + _COMBINING_DOT_ABOVE, "i")


def fold_case(text: str) -> str:
    """Unicode case folding that keeps Turkish addresses stable.

    ``str.casefold`` turns the Turkish capital dotted I (U+0130) into ``i`` + COMBINING DOT ABOVE, so ``İLKER``
    would never equal ``ilker``. We fold U+0130 to plain ``i`` (the Turkic rule for that letter), keep the
    default rule ``I`` → ``i`` (addresses are overwhelmingly ASCII), and keep the dotless ``ı``, a letter of its own.
    """
    return unicodedata.normalize("NFC", _dotted_i(text).casefold())


_ASCII_DOMAIN = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)(?:\.(?!-)[a-z0-9-]{1,63}(?<!-))+$")


@lru_cache(maxsize=8192)
def normalize_domain(domain: str) -> str:
    """A mail domain in its canonical Unicode form, by IDNA2008 with UTS #46 mapping: ``Örnek.COM.tr`` and
    ``xn--rnek-5qa.com.tr`` are one domain; ``straße.de`` stays itself (under IDNA2008 it is not ``strasse.de``).
    Plain ASCII domains take a fast path (lower case and the LDH rule); all results are cached, since a few
    domains carry most addresses."""
    trimmed = domain.rstrip(".")
    if trimmed.isascii() and "xn--" not in trimmed.lower():
        lowered = trimmed.lower()
        if not _ASCII_DOMAIN.match(lowered):
            raise InvalidIdentifier(IdentifierType.EMAIL, "invalid domain")
        return lowered
    import idna  # on first use, like phonenumbers

    try:
        return str(idna.decode(idna.encode(unicodedata.normalize("NFC", _dotted_i(trimmed)), uts46=True)))
    except idna.IDNAError as exc:
        raise InvalidIdentifier(IdentifierType.EMAIL, "invalid domain") from exc


def normalize_email(value: object) -> str:
    text = _text(IdentifierType.EMAIL, value)
    if text.lower().startswith("mailto:"):
        text = text[7:]
    if not _EMAIL_SHAPE.match(text):
        raise InvalidIdentifier(IdentifierType.EMAIL, "not an e-mail address")
    local, _, domain = text.rpartition("@")
    domain = normalize_domain(domain)
    if local.casefold() not in _MAILBOX_NAMES and is_placeholder(local):
        raise InvalidIdentifier(IdentifierType.EMAIL, "placeholder value")
    return f"{fold_case(local)}@{domain}"


@lru_cache(maxsize=4096)
def normalize_phone(value: str, default_region: str = "TR") -> str:
    """A phone number in E.164 (``+905321234567``), read with ``default_region`` when it has no country code."""
    import phonenumbers  # on first use: most events carry no phone, and the import costs ~13 ms of cold start

    text = _text(IdentifierType.PHONE, value)
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidIdentifier(IdentifierType.PHONE, "not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidIdentifier(IdentifierType.PHONE, "not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def whatsapp_id_to_phone(wa_id: str) -> str:
    """WhatsApp's ``wa_id`` is the international number without the plus sign."""
    return normalize_phone("+" + wa_id.lstrip("+"))


def normalize(identifier_type: IdentifierType, value: object, *, default_region: str = "TR") -> str:
    """The canonical spelling of ``value`` as ``identifier_type``; raises InvalidIdentifier when it cannot be one."""
    if identifier_type is IdentifierType.EMAIL:
        return normalize_email(value)
    if identifier_type is IdentifierType.PHONE:
        return normalize_phone(_text(identifier_type, value), default_region)
    text = _text(identifier_type, value)
    if identifier_type is IdentifierType.WHATSAPP:
        digits = text.lstrip("+").replace(" ", "")
        if not _DIGITS.match(digits):
            raise InvalidIdentifier(identifier_type, "a WhatsApp id is the number's digits")
        return digits
    if identifier_type in (IdentifierType.LOYALTY_CARD, IdentifierType.POS_CUSTOMER):
        return text.replace(" ", "").upper()
    return text


def identifier_key(identifier_type: IdentifierType | str, value: str) -> str:
    """``type:value``, the form identifiers take in URLs, logs of counts and lookups."""
    return f"{identifier_type}:{value}"


def parse_identifier_key(key: str, *, default_region: str = "TR") -> tuple[IdentifierType, str]:
    """Read ``type:value`` (or a bare e-mail / phone number) into a normalised pair."""
    kind, sep, value = key.partition(":")
    if sep and kind in IdentifierType.__members__.values():
        identifier_type = IdentifierType(kind)
    elif "@" in key:
        identifier_type, value = IdentifierType.EMAIL, key
    elif key.strip().startswith("+"):
        identifier_type, value = IdentifierType.PHONE, key
    else:
        raise InvalidIdentifier("identifier", "use type:value, an e-mail address or a +E.164 phone number")
    return identifier_type, normalize(identifier_type, value, default_region=default_region)


def normalize_text_id(field: str, value: object) -> str:
    """An id that is not a person's identifier (a Segment ``groupId``): the same cleaning and placeholder rule."""
    return _text(field, value)


# Valid values stores, forms and integrations put in when they have none of their own: linking on them would merge
# strangers. One list for every function that links identifiers (profiles, carts); deployments add their own
# (IDENTITY_BLOCKLIST), and values seen on too many profiles are blocked automatically by the profiles function.
LINK_BLOCKLIST: dict[IdentifierType, frozenset[str]] = {
    IdentifierType.EMAIL: frozenset(
        {"test@test.com", "test@example.com", "noreply@noreply.com", "no-reply@no-reply.com", "a@a.com"}
    ),
    IdentifierType.PHONE: frozenset({"+10000000000", "+901111111111", "+900000000000", "+905555555555"}),
    IdentifierType.LOYALTY_CARD: frozenset({"0000000000", "1111111111", "TEST"}),
    IdentifierType.POS_CUSTOMER: frozenset({"WALKIN", "WALK-IN", "CASH", "GUEST", "999999"}),
}
# Whole domains nobody owns (RFC 2606) and mailboxes that never answer.
LINK_BLOCKED_PATTERNS: dict[IdentifierType, tuple[str, ...]] = {
    IdentifierType.EMAIL: (r"@(example\.(com|org|net)|test\.invalid|localhost)$", r"^(no-?reply|donotreply)@"),
}


def is_unlinkable(identifier_type: IdentifierType, value: str) -> bool:
    """A normalised value that never links anything (on the shared blocklist)."""
    if value in LINK_BLOCKLIST.get(identifier_type, frozenset()):
        return True
    return any(re.search(pattern, value) for pattern in LINK_BLOCKED_PATTERNS.get(identifier_type, ()))


def identifier_digest(identifier_type: IdentifierType | str, value: str) -> str:
    """A one-way digest of a normalised identifier (128 bits of SHA-256): what a suppression list or a timeline
    row keeps instead of the value itself."""
    return hashlib.sha256(f"omnichannel-id\x1f{IdentifierType(identifier_type).value}\x1f{value}".encode()).hexdigest()[
        :32
    ]


# Trait names that carry an identifier (Segment's reserved traits and this project's), in identify traits,
# context.traits and a track call's properties: capture reads identifiers from them, profiles keeps them out of
# the person's traits when the identifier could not be linked.
TRAIT_IDENTIFIERS: dict[str, IdentifierType] = {
    "email": IdentifierType.EMAIL,
    "phone": IdentifierType.PHONE,
    "loyalty_card": IdentifierType.LOYALTY_CARD,
    "loyaltyCard": IdentifierType.LOYALTY_CARD,
    "pos_customer": IdentifierType.POS_CUSTOMER,
    "posCustomerId": IdentifierType.POS_CUSTOMER,
    "whatsapp": IdentifierType.WHATSAPP,
}
