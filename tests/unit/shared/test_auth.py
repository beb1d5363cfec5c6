"""Who is calling: roles only from what the customer cannot write (Cognito groups, access-token scopes), staff
roles only in access tokens, and the identifiers an ID token proves."""

from __future__ import annotations

from typing import Any

import pytest

from omnichannel.auth import Forbidden, Role, TokenKind, principal_from_event


def _event(claims: dict[str, str] | None, scopes: list[str] | None = None) -> dict[str, Any]:
    if claims is None:
        return {"requestContext": {}}
    return {"requestContext": {"authorizer": {"jwt": {"claims": claims, "scopes": scopes}}}}


def test_no_authorizer_means_no_principal() -> None:
    assert principal_from_event(_event(None)) is None
    assert principal_from_event(_event({"iss": "x"})) is None


def test_role_from_scope() -> None:
    agent = principal_from_event(_event({"sub": "a-1", "token_use": "access"}, ["omnichannel/agent"]))
    customer = principal_from_event(_event({"sub": "c-1", "scope": "[openid omnichannel/customer]"}))
    assert agent is not None
    assert customer is not None
    assert (agent.role, customer.role) == (Role.AGENT, Role.CUSTOMER)


@pytest.mark.parametrize("claimed", ["admin", "agent"])
@pytest.mark.parametrize("token_use", ["access", "id"])
def test_a_user_attribute_never_grants_a_role(claimed: str, token_use: str) -> None:
    # Given a token whose user gave themselves a custom:role attribute (Cognito lets users write their attributes)
    principal = principal_from_event(_event({"sub": "c-9", "custom:role": claimed, "token_use": token_use}))
    # Then they are a customer, and staff routes refuse them
    assert principal is not None
    assert principal.role is Role.CUSTOMER
    with pytest.raises(Forbidden):
        principal.require(Role.AGENT)


def test_unknown_roles_fall_back_to_customer() -> None:
    principal = principal_from_event(_event({"sub": "x", "cognito:groups": "[superuser]"}, ["omnichannel/root"]))
    assert principal is not None
    assert principal.role is Role.CUSTOMER


def test_a_customer_reaches_only_their_own_data_an_agent_any() -> None:
    customer = principal_from_event(_event({"sub": "c-1"}, ["omnichannel/customer"]))
    agent = principal_from_event(_event({"sub": "a-1"}, ["omnichannel/agent"]))
    assert customer is not None
    assert agent is not None
    assert customer.may_access_customer("c-1")
    assert not customer.may_access_customer("c-2")
    assert agent.may_access_customer("c-2")
    agent.require(Role.AGENT)
    with pytest.raises(Forbidden):
        agent.require(Role.ADMIN)
    with pytest.raises(Forbidden):
        customer.require(Role.AGENT)


def test_role_from_cognito_groups_as_api_gateway_flattens_them() -> None:
    agent = principal_from_event(_event({"sub": "a-2", "cognito:groups": "[agent]"}))
    admin = principal_from_event(_event({"sub": "a-3", "cognito:groups": "[agent admin]"}))
    stranger = principal_from_event(_event({"sub": "c-3", "cognito:groups": "[vip]"}))
    assert agent is not None
    assert admin is not None
    assert stranger is not None
    assert (agent.role, admin.role, stranger.role) == (Role.AGENT, Role.ADMIN, Role.CUSTOMER)


def test_staff_roles_need_an_access_token_an_id_token_is_refused_naming_why() -> None:
    # Given an admin's ID token (Cognito puts the groups in ID tokens too)
    principal = principal_from_event(_event({"sub": "adm-1", "cognito:groups": "[admin]", "token_use": "id"}))
    # Then it is a customer's token for every staff route, and the refusal says why
    assert principal is not None
    assert (principal.role, principal.token_kind) == (Role.CUSTOMER, TokenKind.ID)
    assert not principal.may_access_customer("someone-else")
    with pytest.raises(Forbidden, match="access token"):
        principal.require(Role.ADMIN)


def test_an_id_token_proves_only_its_verified_claims() -> None:
    verified = principal_from_event(
        _event(
            {
                "sub": "c-1",
                "token_use": "id",
                "email": "ayse@posta.com.tr",
                "email_verified": "true",
                "phone_number": "+905321234567",
                "phone_number_verified": "false",
            }
        )
    )
    access = principal_from_event(
        _event({"sub": "c-1", "token_use": "access", "email": "x@y.tr", "email_verified": "true"})
    )
    assert verified is not None
    assert access is not None
    assert (verified.verified_email, verified.verified_phone) == ("ayse@posta.com.tr", None)
    assert (access.verified_email, access.verified_phone) == (None, None)
