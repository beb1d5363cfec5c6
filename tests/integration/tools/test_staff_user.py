"""``make staff-user EMAIL=... ROLE=agent|admin`` on moto's Cognito: the user is created in the stack's pool (found
through the stack's UserPoolId output) in its group; run again, it changes the role and creates nothing twice."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.server import ThreadedMotoServer

from tools.staff_user import main

ROOT = Path(__file__).resolve().parents[3]
REGION = "eu-west-1"
MAKE = ("make", "-s", "-o", ".venv/.installed")  # a test never reinstalls the virtualenv
# A stand-in for the deployed stack: moto's CloudFormation only needs to answer describe_stacks with the output
STACK_TEMPLATE = {
    "Parameters": {"Pool": {"Type": "String"}},
    "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
    "Outputs": {"UserPoolId": {"Value": {"Ref": "Pool"}}},
}


def deployed_pool(stack: str = "omnichannel-dev") -> str:
    """A user pool as template.yaml makes it (e-mail user names, agent and admin groups), behind a stack."""
    cognito = boto3.client("cognito-idp", region_name=REGION)
    pool = cognito.create_user_pool(PoolName="omnichannel-dev-users", UsernameAttributes=["email"])["UserPool"]["Id"]
    for group in ("agent", "admin"):
        cognito.create_group(UserPoolId=pool, GroupName=group)
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName=stack,
        TemplateBody=json.dumps(STACK_TEMPLATE),
        Parameters=[{"ParameterKey": "Pool", "ParameterValue": pool}],
    )
    return str(pool)


def groups_of(pool: str, email: str) -> list[str]:
    cognito = boto3.client("cognito-idp", region_name=REGION)
    return sorted(g["GroupName"] for g in cognito.admin_list_groups_for_user(UserPoolId=pool, Username=email)["Groups"])


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def test_creates_an_agent_in_the_stacks_pool(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    pool = deployed_pool()
    # When an operator creates an agent by stack name
    assert (
        main(["--email", " ayse@shop.com.tr ", "--role", "agent", "--stack", "omnichannel-dev", "--region", REGION])
        == 0
    )
    # Then the user is in the stack's pool, with a verified e-mail, in the agent group only
    user = boto3.client("cognito-idp", region_name=REGION).admin_get_user(UserPoolId=pool, Username="ayse@shop.com.tr")
    attributes: dict[str, Any] = {item["Name"]: item["Value"] for item in user["UserAttributes"]}
    assert (attributes["email"], attributes["email_verified"]) == ("ayse@shop.com.tr", "true")
    assert user["UserStatus"] == "FORCE_CHANGE_PASSWORD"  # the temporary password Cognito e-mailed
    assert groups_of(pool, "ayse@shop.com.tr") == ["agent"]
    assert capsys.readouterr().out.strip() == (
        f"ayse@shop.com.tr: created, agent, in user pool {pool}; Cognito e-mailed a temporary password"
    )


def test_running_it_again_changes_the_role_without_a_second_user(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    pool = deployed_pool()
    assert main(["--email", "ali@shop.com.tr", "--role", "agent", "--user-pool-id", pool, "--region", REGION]) == 0
    # When the same person is made an admin
    assert main(["--email", "ali@shop.com.tr", "--role", "admin", "--user-pool-id", pool, "--region", REGION]) == 0
    # Then they are an admin only, and still one user
    assert groups_of(pool, "ali@shop.com.tr") == ["admin"]
    users = boto3.client("cognito-idp", region_name=REGION).list_users(UserPoolId=pool)["Users"]
    assert len(users) == 1
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"ali@shop.com.tr: already existed; role set, admin (taken out of agent), in user pool {pool}"
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--email", "not-an-address", "--role", "agent"], "EMAIL='not-an-address' is not an e-mail address"),
        (["--email", "x@shop.com", "--role", "owner"], "ROLE='owner': agent or admin"),
        (["--email", "x@shop.com", "--role", "agent", "--stack", "no-such-stack"], "stack no-such-stack:"),
    ],
)
def test_mistakes_are_one_line_and_exit_1(
    aws: None, capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    deployed_pool()
    assert main([*arguments, "--region", REGION]) == 1
    error = capsys.readouterr().err
    assert error.startswith("staff-user: ")
    assert message in error


def test_make_staff_user_against_moto_server(tmp_path: Path) -> None:
    # Given moto as a server, reached the way the AWS SDKs reach AWS (here: AWS_ENDPOINT_URL)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        env = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "MAKE"))}
        env |= {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "HOME": str(tmp_path),
        }
        cognito = boto3.client("cognito-idp", region_name=REGION, endpoint_url=endpoint)
        pool = cognito.create_user_pool(PoolName="p", UsernameAttributes=["email"])["UserPool"]["Id"]
        for group in ("agent", "admin"):
            cognito.create_group(UserPoolId=pool, GroupName=group)
        boto3.client("cloudformation", region_name=REGION, endpoint_url=endpoint).create_stack(
            StackName="omnichannel-prod",
            TemplateBody=json.dumps(STACK_TEMPLATE),
            Parameters=[{"ParameterKey": "Pool", "ParameterValue": pool}],
        )
        # When the operator runs the make target the deploy guide shows
        result = subprocess.run(  # noqa: S603 - make, a fixed target
            [*MAKE, "staff-user", "EMAIL=zeynep@shop.com.tr", "ROLE=admin", "STACK=omnichannel-prod"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        # Then the admin exists in that stack's pool
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"zeynep@shop.com.tr: created, admin, in user pool {pool}" in result.stdout
        groups = cognito.admin_list_groups_for_user(UserPoolId=pool, Username="zeynep@shop.com.tr")["Groups"]
        assert [group["GroupName"] for group in groups] == ["admin"]
        # And without EMAIL it says how to call it
        usage = subprocess.run(  # noqa: S603
            [*MAKE, "staff-user", "ROLE=agent"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert usage.returncode != 0
        assert "make staff-user EMAIL=someone@shop.com ROLE=agent|admin" in usage.stderr
    finally:
        server.stop()
