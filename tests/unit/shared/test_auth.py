from __future__ import annotations

from typing import Any

import pytest

from omnichannel.auth import Forbidden, Role, principal_from_event


def _event(claims: dict[str, str] | None, scopes: list[str] | None = None) -> dict[str, Any]:
    if claims is None:
        return {"requestContext": {}}
    return {"requestContext": {"authorizer": {"jwt": {"claims": claims, "scopes": scopes}}}}


def test_no_authorizer_means_no_principal() -> None:
    assert principal_from_event(_event(None)) is None
    assert principal_from_event(_event({"iss": "x"})) is None


def test_role_from_scope_or_custom_claim() -> None:
    agent = principal_from_event(_event({"sub": "a-1"}, ["omnichannel/agent"]))
    admin = principal_from_event(_event({"sub": "root", "custom:role": "admin"}))
    customer = principal_from_event(_event({"sub": "c-1", "scope": "[openid omnichannel/customer]"}))
    assert agent is not None
    assert admin is not None
    assert customer is not None
    assert (agent.role, admin.role, customer.role) == (Role.AGENT, Role.ADMIN, Role.CUSTOMER)


def test_unknown_roles_fall_back_to_customer() -> None:
    principal = principal_from_event(_event({"sub": "x", "custom:role": "superuser"}, ["omnichannel/root"]))
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
