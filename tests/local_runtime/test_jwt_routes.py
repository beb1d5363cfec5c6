"""JWT-authorised routes: the HTTP API's JWT authorizer, checked locally with the development key."""

from __future__ import annotations

import json

import jwt
import pytest

from local_runtime import LocalRuntime
from local_runtime.__main__ import main
from local_runtime.auth import DevJwt
from tests.local_runtime.support import CONFIG, echoed


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def test_a_valid_token_passes_and_its_claims_reach_the_function(runtime: LocalRuntime) -> None:
    # Given a development token for a customer
    token = runtime.token("customer", sub="cust-42")
    # When the default-authorised route is called with it
    status, _, body = runtime.request("GET", "/me", headers=_bearer(token))
    # Then the function gets the claims (as strings) and scopes where API Gateway puts them
    assert status == 200
    authorizer = echoed(body)["event"]["requestContext"]["authorizer"]
    claims = authorizer["jwt"]["claims"]
    assert claims["sub"] == "cust-42"
    assert "custom:role" not in claims
    assert claims["iss"] == "https://local.fixture.test"
    assert claims["aud"] == "fixture-local"
    assert isinstance(claims["exp"], str)
    assert claims["exp"].isdigit()
    assert authorizer["jwt"]["scopes"] == ["omnichannel/customer"]


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer not-a-jwt",
        "Bearer "
        + DevJwt("another-signing-key-that-is-long-enough", "https://local.fixture.test", "fixture-local").issue(
            "admin"
        ),
        "Bearer "
        + DevJwt("fixture-jwt-signing-key-for-tests-only", "https://elsewhere", "fixture-local").issue("admin"),
        "Bearer "
        + DevJwt("fixture-jwt-signing-key-for-tests-only", "https://local.fixture.test", "other-app").issue("admin"),
        "Bearer "
        + DevJwt("fixture-jwt-signing-key-for-tests-only", "https://local.fixture.test", "fixture-local").issue(
            "admin", now=1
        ),
    ],
    ids=["missing", "malformed", "wrong-key", "wrong-issuer", "wrong-audience", "expired"],
)
def test_a_missing_or_bad_token_is_refused_with_401(runtime: LocalRuntime, authorization: str | None) -> None:
    # Given no token, or one that is not ours, not for us, or expired
    headers = {"authorization": authorization} if authorization else {}
    # When the protected route is called
    status, response_headers, body = runtime.request("GET", "/me", headers=headers)
    # Then API Gateway's 401 answers and the function is not invoked
    assert status == 401
    assert json.loads(body) == {"message": "Unauthorized"}
    assert response_headers["www-authenticate"] == "Bearer"


def test_route_scopes_refuse_a_token_without_them_with_403(runtime: LocalRuntime) -> None:
    # Given a route that needs the omnichannel/agent scope
    # When a customer and then an agent call it
    customer = runtime.request("GET", "/agent-only", headers=_bearer(runtime.token("customer")))
    agent = runtime.request("GET", "/agent-only", headers=_bearer(runtime.token("agent")))
    # Then the customer is forbidden and the agent passes
    assert customer.status == 403
    assert json.loads(customer.body) == {"message": "Forbidden"}
    assert agent.status == 200


def test_a_route_with_authorizer_none_stays_open_despite_the_default(runtime: LocalRuntime) -> None:
    # Given the API has a default authorizer but /items/{id} says Authorizer: NONE
    # When it is called without a token
    status, _, body = runtime.request("GET", "/items/1")
    # Then it passes, with no authorizer context
    assert status == 200
    assert "authorizer" not in echoed(body)["event"]["requestContext"]


def test_the_token_command_prints_a_token_the_runtime_accepts(capsys: pytest.CaptureFixture[str]) -> None:
    # Given the development config
    # When `python -m local_runtime token --role agent --sub a-7` runs
    code = main(["token", "--role", "agent", "--sub", "a-7", "--config", str(CONFIG)])
    token = capsys.readouterr().out.strip()
    # Then it prints one signed token carrying the role as a claim and a scope
    assert code == 0
    claims = jwt.decode(token, "fixture-jwt-signing-key-for-tests-only", algorithms=["HS256"], audience="fixture-local")
    assert claims["sub"] == "a-7"
    assert claims["cognito:groups"] == ["agent"]
    assert claims["scope"] == "omnichannel/agent"
    assert claims["exp"] > claims["iat"]
