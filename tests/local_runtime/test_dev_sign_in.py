"""The console's dev sign-in: POST /_local/token, a local-runtime-only route (never in the template)."""

from __future__ import annotations

import pytest

from local_runtime import LocalRuntime


@pytest.mark.parametrize("role", ["agent", "admin"])
def test_dev_sign_in_issues_a_staff_token_the_authorizer_accepts(runtime: LocalRuntime, role: str) -> None:
    # When the console asks for a development token for a staff role
    status, headers, _ = runtime.request("POST", "/_local/token", body={"role": role})
    answer = runtime.request("POST", "/_local/token", body={"role": role}).json()

    # Then it gets one, for that role, which the dev JWT verifier accepts with the role's claims
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert answer["role"] == role
    assert answer["sub"] == f"dev-{role}"
    claims = runtime.dev_jwt.verify(answer["token"])
    assert claims["cognito:groups"] == [role]
    assert "custom:role" not in claims
    assert claims["sub"] == f"dev-{role}"


def test_dev_sign_in_defaults_to_an_agent_and_takes_a_subject(runtime: LocalRuntime) -> None:
    answer = runtime.request("POST", "/_local/token", body={"sub": "clerk-7"}).json()
    claims = runtime.dev_jwt.verify(answer["token"])
    assert (claims["cognito:groups"], claims["sub"]) == (["agent"], "clerk-7")


@pytest.mark.parametrize(
    ("body", "code"),
    [(b'{"role": "customer"}', "invalid_role"), (b'{"role": "root"}', "invalid_role"), (b"{", "invalid_json")],
)
def test_dev_sign_in_refuses_customers_and_nonsense(runtime: LocalRuntime, body: bytes, code: str) -> None:
    # A customer token is not for the console; a broken body is named (the console probes the route with one)
    status, _, answer = runtime.request("POST", "/_local/token", body=body)
    assert status == 400
    assert code.encode() in answer
