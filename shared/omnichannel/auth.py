"""Who is calling: the caller as API Gateway's JWT authorizer describes them (Cognito on AWS, the development
key locally), and what each role may reach.

API Gateway puts the verified token's claims at ``requestContext.authorizer.jwt.claims`` (every value a
string) and its scopes at ``requestContext.authorizer.jwt.scopes``. The role is the highest of: the user's
Cognito groups (claim ``cognito:groups``, in access tokens; groups ``agent`` and ``admin``), the custom claim
``custom:role`` (ID tokens, pre-token-generation triggers) and the OAuth scope ``omnichannel/<role>`` (machine
clients). A customer reaches only their own data
(``sub`` is their customer id); agents reach any customer; admins also erase and unmerge.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

SCOPE_PREFIX = "omnichannel/"
ROLE_CLAIM = "custom:role"
GROUPS_CLAIM = "cognito:groups"


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

    def at_least(self, role: Role) -> bool:
        return _RANK[self.role] >= _RANK[role]

    def require(self, role: Role) -> None:
        if not self.at_least(role):
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
    granted = {Role(scope.removeprefix(SCOPE_PREFIX)) for scope in scopes if scope.removeprefix(SCOPE_PREFIX) in Role}
    claimed = claims.get(ROLE_CLAIM)
    if isinstance(claimed, str) and claimed in Role.__members__.values():
        granted.add(Role(claimed))
    groups = claims.get(GROUPS_CLAIM)
    # API Gateway flattens a list claim to "[agent admin]"; a test event may still carry a list.
    names = groups if isinstance(groups, list) else str(groups or "").strip("[]").split()
    granted.update(Role(name) for name in names if name in Role.__members__.values())
    role = max(granted, key=_RANK.__getitem__, default=Role.CUSTOMER)
    return Principal(subject=subject, role=role, scopes=scopes)
