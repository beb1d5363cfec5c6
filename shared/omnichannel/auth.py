"""Who is calling: the caller as API Gateway's JWT authorizer describes them (Cognito on AWS, the development
key locally), what each role may reach, and which identifiers the caller's token proves.

API Gateway puts the verified token's claims at ``requestContext.authorizer.jwt.claims`` (every value a
string) and its scopes at ``requestContext.authorizer.jwt.scopes``. A staff role comes only from what the
customer cannot write themselves: the user's Cognito groups (claim ``cognito:groups``; groups ``agent`` and
``admin``, managed by administrators) or the OAuth scope ``omnichannel/<role>`` (machine clients, granted by the
app client's configuration). User attributes (``custom:*``) never grant anything: Cognito lets users write their
own attributes unless an app client is told otherwise, so a role claimed there would be self-promotion.

Staff roles need an **access token**: an ID token (``token_use: id``) is a statement about the user for the app
that signed them in, and also carries the user's groups; a route that needs a staff role refuses it (the caller
is a customer with it). Customer routes accept both; an ID token's verified ``email`` and ``phone_number`` claims
(``email_verified`` / ``phone_number_verified`` true) are how a customer proves an identifier (access tokens do
not carry them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

SCOPE_PREFIX = "omnichannel/"
GROUPS_CLAIM = "cognito:groups"


class TokenKind(StrEnum):
    """Cognito's ``token_use`` claim."""

    ACCESS = "access"
    ID = "id"


class Role(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    ADMIN = "admin"


_RANK = {Role.CUSTOMER: 0, Role.AGENT: 1, Role.ADMIN: 2}


class Forbidden(Exception):
    """The caller is known but may not do this."""


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    scopes: frozenset[str]
    token_kind: TokenKind = TokenKind.ACCESS
    verified_email: str | None = None  # an ID token's ``email`` when ``email_verified`` is true
    verified_phone: str | None = None  # an ID token's ``phone_number`` when ``phone_number_verified`` is true
    refused_role: Role | None = None  # a staff role the token's groups name, refused because it is an ID token

    def at_least(self, role: Role) -> bool:
        return _RANK[self.role] >= _RANK[role]

    def require(self, role: Role) -> None:
        if self.at_least(role):
            return
        if self.refused_role is not None and _RANK[self.refused_role] >= _RANK[role]:
            raise Forbidden(f"needs the {role.value} role in an access token (an ID token was sent)")
        raise Forbidden(f"needs the {role.value} role")

    def may_access_customer(self, customer_id: str) -> bool:
        """Agents and admins reach any customer; a customer only themselves."""
        return self.at_least(Role.AGENT) or self.subject == customer_id


def _scopes(jwt: Mapping[str, Any]) -> frozenset[str]:
    scopes = jwt.get("scopes")
    if isinstance(scopes, list):
        return frozenset(str(scope) for scope in scopes)
    claim = (jwt.get("claims") or {}).get("scope")
    if isinstance(claim, str):
        return frozenset(claim.strip("[]").split())
    return frozenset()


def _true(value: Any) -> bool:
    """A boolean claim as API Gateway hands it over (the string ``true``) or as a test event may carry it."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _staff_role(claims: Mapping[str, Any], scopes: frozenset[str]) -> Role:
    granted = {Role(scope.removeprefix(SCOPE_PREFIX)) for scope in scopes if scope.removeprefix(SCOPE_PREFIX) in Role}
    groups = claims.get(GROUPS_CLAIM)
    # API Gateway flattens a list claim to "[agent admin]"; a test event may still carry a list.
    names = groups if isinstance(groups, list) else str(groups or "").strip("[]").split()
    granted.update(Role(name) for name in names if name in Role.__members__.values())
    return max(granted, key=_RANK.__getitem__, default=Role.CUSTOMER)


def principal_from_event(event: Mapping[str, Any]) -> Principal | None:
    """The caller of an API Gateway HTTP API (payload 2.0) event, or None when the route had no authorizer."""
    jwt = ((event.get("requestContext") or {}).get("authorizer") or {}).get("jwt")
    if not isinstance(jwt, Mapping):
        return None
    claims = jwt.get("claims") or {}
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        return None
    scopes = _scopes(jwt)
    kind = TokenKind.ID if claims.get("token_use") == TokenKind.ID.value else TokenKind.ACCESS
    role = _staff_role(claims, scopes)
    refused = None
    if kind is TokenKind.ID and role is not Role.CUSTOMER:
        role, refused = Role.CUSTOMER, role
    id_token = kind is TokenKind.ID
    email = claims.get("email") if id_token and _true(claims.get("email_verified")) else None
    phone = claims.get("phone_number") if id_token and _true(claims.get("phone_number_verified")) else None
    return Principal(
        subject=subject,
        role=role,
        scopes=scopes,
        token_kind=kind,
        verified_email=email if isinstance(email, str) and email else None,
        verified_phone=phone if isinstance(phone, str) and phone else None,
        refused_role=refused,
    )
