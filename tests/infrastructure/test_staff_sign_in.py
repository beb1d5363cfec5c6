"""Staff sign-in on AWS: a Cognito managed-login domain, the console's public app client with the code flow (PKCE)
and callback URLs from parameters, a resource server for machine clients' staff scopes, and outputs naming it all.
A person's role comes from their group; no user-facing client may hand out the staff scopes."""

from __future__ import annotations

from typing import Any

from tests.infrastructure.cfn_template import load_template, resources_of_type

TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]


def props(logical_id: str) -> dict[str, Any]:
    properties: dict[str, Any] = RESOURCES[logical_id]["Properties"]
    return properties


def when_signing_in(value: Any) -> Any:
    """The value a property takes when ConsoleCallbackUrls is set (the ConsoleSignIn branch of its Fn::If)."""
    assert isinstance(value, dict), value
    assert value.get("Fn::If", [None])[0] == "ConsoleSignIn", value
    return value["Fn::If"][1]


def test_the_console_client_is_public_and_signs_in_with_the_code_flow_only() -> None:
    client = props("StaffAppClient")
    assert client["GenerateSecret"] is False  # a browser keeps no secret: PKCE stands for it
    assert when_signing_in(client["AllowedOAuthFlows"]) == ["code"]  # never the implicit flow
    assert when_signing_in(client["AllowedOAuthFlowsUserPoolClient"]) is True
    assert when_signing_in(client["CallbackURLs"]) == {"Ref": "ConsoleCallbackUrls"}
    assert client["SupportedIdentityProviders"] == ["COGNITO"]
    assert TEMPLATE["Conditions"]["ConsoleSignIn"] == {
        "Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "ConsoleCallbackUrls"}]}, ""]}]
    }


def test_no_client_people_sign_in_with_may_ask_for_the_staff_scopes() -> None:
    # Anyone may sign up to the pool (customers do): a client that let them ask for omnichannel/agent would make
    # them staff. Staff roles come from the agent and admin groups only.
    for client in resources_of_type(TEMPLATE, "AWS::Cognito::UserPoolClient"):
        scopes = client.properties.get("AllowedOAuthScopes")
        if isinstance(scopes, dict):
            scopes = when_signing_in(scopes)
        assert not [scope for scope in scopes or [] if str(scope).startswith("omnichannel/")], client.logical_id
        assert "client_credentials" not in str(client.properties.get("AllowedOAuthFlows")), client.logical_id


def test_managed_login_domain_style_and_resource_server() -> None:
    domain = props("UserPoolDomain")
    assert domain["UserPoolId"] == {"Ref": "UserPool"}
    assert domain["ManagedLoginVersion"] == 2
    style = props("StaffConsoleLoginStyle")
    assert (style["ClientId"], style["UseCognitoProvidedValues"]) == ({"Ref": "StaffAppClient"}, True)
    server = props("StaffResourceServer")
    assert server["Identifier"] == "omnichannel"
    assert {scope["ScopeName"] for scope in server["Scopes"]} == {"agent", "admin"}


def test_outputs_say_where_to_sign_in_and_what_to_deploy_with() -> None:
    outputs = TEMPLATE["Outputs"]
    assert "${UserPoolDomain}.auth.${AWS::Region}.amazoncognito.com" in outputs["ManagedLoginUrl"]["Value"]["Fn::Sub"]
    assert outputs["ConsoleCallbackUrl"]["Value"]["Fn::Sub"][0] == "${Base}/console"
    assert "ConsoleCallbackUrls" in outputs["ConsoleCallbackUrl"]["Description"]
