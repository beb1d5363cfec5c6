"""Development JWTs: what the HTTP API's JWT authorizer checks on AWS (a Cognito token), signed locally with the
development key from ``dev-config.json`` (HS256).

An access token (the default) carries ``sub``, ``iss``, ``aud``, ``iat``, ``exp``, ``token_use: access``, the
role as the Cognito group (claim ``cognito:groups``, agents and admins) and as the OAuth scope
``omnichannel/<role>`` (claim ``scope``, space-separated, as Cognito writes it). An ID token (``id_token=True``)
has no scope; like Cognito's it may carry the user's ``email`` / ``email_verified`` and ``phone_number`` /
``phone_number_verified`` (``claims=``). No token carries a role in a user attribute (``custom:role``): users
can write their own attributes. Routes read the claims where API Gateway puts them:
``requestContext.authorizer.jwt.claims`` (every value a string, lists written ``[a b]``, exactly as API Gateway
flattens them) and ``requestContext.authorizer.jwt.scopes``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt

ROLES = ("customer", "agent", "admin")
SCOPE_PREFIX = "omnichannel/"


class AuthError(Exception):
    """The token is missing, malformed, expired, or not ours."""


@dataclass(frozen=True)
class DevJwt:
    """Issues and verifies development tokens."""

    signing_key: str
    issuer: str
    audience: str

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> DevJwt:
        section = config.get("jwt") or {}
        return cls(
            signing_key=str(section.get("signing_key") or "dev-jwt-signing-key-not-for-production"),
            issuer=str(section.get("issuer") or "https://local.omnichannel.dev"),
            audience=str(section.get("audience") or "omnichannel-local"),
        )

    def issue(
        self,
        role: str,
        *,
        sub: str | None = None,
        ttl_seconds: int = 12 * 3600,
        extra_scopes: Iterable[str] = (),
        now: float | None = None,
        id_token: bool = False,
        claims: Mapping[str, Any] | None = None,
    ) -> str:
        """A signed token for ``role`` (customer, agent or admin): an access token, or an ID token with ``claims``
        such as ``{"email": ..., "email_verified": True}``."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        issued = int(now if now is not None else time.time())
        body: dict[str, Any] = {
            "sub": sub or f"dev-{role}",
            "iss": self.issuer,
            "aud": self.audience,
            "iat": issued,
            "exp": issued + ttl_seconds,
            "token_use": "id" if id_token else "access",
        }
        if not id_token:
            body["scope"] = " ".join([SCOPE_PREFIX + role, *extra_scopes])
        if role != "customer":
            body["cognito:groups"] = [role]
        body.update(claims or {})
        return jwt.encode(body, self.signing_key, algorithm="HS256")

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims; raises :class:`AuthError` unless signature, issuer, audience and expiry are right."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.signing_key,
                algorithms=["HS256"],
                issuer=self.issuer,
                options={"require": ["exp", "iss"], "verify_aud": False},
            )
        except jwt.PyJWTError as exc:
            raise AuthError(str(exc)) from exc
        # API Gateway accepts the audience in ``aud`` or, for Cognito access tokens, in ``client_id``.
        audiences = claims.get("aud", claims.get("client_id"))
        listed = audiences if isinstance(audiences, list) else [audiences]
        if self.audience not in listed:
            raise AuthError("wrong audience")
        return claims


def scopes_of(claims: Mapping[str, Any]) -> list[str]:
    """The token's scopes, from ``scope`` (space-separated) or ``scp`` (a list)."""
    scope = claims.get("scope")
    if isinstance(scope, str):
        return scope.split()
    if isinstance(claims.get("scp"), list):
        return [str(scope) for scope in claims["scp"]]
    return []


def api_gateway_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    """Claims as the HTTP API JWT authorizer hands them to the integration: every value a string."""

    def text(value: Any) -> str:
        if isinstance(value, list):
            return "[" + " ".join(text(item) for item in value) + "]"
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return {name: text(value) for name, value in claims.items()}


def bearer_token(header_value: str | None) -> str | None:
    """The token of an ``Authorization`` header, with or without the ``Bearer`` prefix (API Gateway takes both)."""
    if not header_value:
        return None
    value = header_value.strip()
    if value.lower().startswith("bearer "):
        value = value[7:].strip()
    return value or None
