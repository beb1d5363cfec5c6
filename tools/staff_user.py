"""Create a console user on AWS, or change their role: a Cognito user of the stack's pool in the agent or admin group.

    make staff-user EMAIL=ayse@shop.com.tr ROLE=agent [STACK=omnichannel-prod]
    python -m tools.staff_user --email ... --role agent|admin [--stack NAME | --user-pool-id ID] [--region R]

Cognito e-mails the new user a temporary password, which managed login asks them to change at the first sign-in.
Run again with the other role to change it (the user is taken out of the other staff group). Needs AWS credentials
allowed cognito-idp:AdminCreateUser, AdminAddUserToGroup, AdminRemoveUserFromGroup, AdminListGroupsForUser, and
cloudformation:DescribeStacks to find the pool by stack name.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

ROLES = ("agent", "admin")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class StaffUserError(Exception):
    """Something the operator can fix, said in one line."""


@dataclass(frozen=True)
class Outcome:
    email: str
    role: str
    user_pool_id: str
    created: bool
    removed_from: tuple[str, ...]

    def describe(self) -> str:
        what = "created" if self.created else "already existed; role set"
        moved = f" (taken out of {', '.join(self.removed_from)})" if self.removed_from else ""
        mail = "; Cognito e-mailed a temporary password" if self.created else ""
        return f"{self.email}: {what}, {self.role}{moved}, in user pool {self.user_pool_id}{mail}"


def user_pool_of(stack: str, cloudformation: Any) -> str:
    """The stack's UserPoolId output."""
    try:
        stacks = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as exc:
        raise StaffUserError(
            f"stack {stack}: {exc.response['Error']['Message']} (STACK= the deployed stack's name)"
        ) from exc
    outputs = {item["OutputKey"]: item["OutputValue"] for item in stacks[0].get("Outputs", [])}
    if "UserPoolId" not in outputs:
        raise StaffUserError(f"stack {stack} has no UserPoolId output: is it this project's stack?")
    return str(outputs["UserPoolId"])


def make_staff_user(email: str, role: str, user_pool_id: str, cognito: Any) -> Outcome:
    """Create ``email`` (or find it) and put it in ``role``'s group, out of the other staff group."""
    email = email.strip()
    if not _EMAIL.match(email):
        raise StaffUserError(f"EMAIL={email!r} is not an e-mail address")
    if role not in ROLES:
        raise StaffUserError(f"ROLE={role!r}: agent or admin")
    created = True
    try:
        cognito.admin_create_user(
            UserPoolId=user_pool_id,
            Username=email,
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
            DesiredDeliveryMediums=["EMAIL"],
        )
    except cognito.exceptions.UsernameExistsException:
        created = False
    cognito.admin_add_user_to_group(UserPoolId=user_pool_id, Username=email, GroupName=role)
    groups = cognito.admin_list_groups_for_user(UserPoolId=user_pool_id, Username=email)["Groups"]
    removed = tuple(
        group["GroupName"] for group in groups if group["GroupName"] in ROLES and group["GroupName"] != role
    )
    for group in removed:
        cognito.admin_remove_user_from_group(UserPoolId=user_pool_id, Username=email, GroupName=group)
    return Outcome(email, role, user_pool_id, created, removed)


def main(argv: Sequence[str] | None = None, *, session: Callable[..., Any] = boto3.session.Session) -> int:
    parser = argparse.ArgumentParser(prog="make staff-user", description=__doc__.split("\n\n")[0])
    parser.add_argument("--email", default="", help="the staff member's e-mail address (their user name)")
    parser.add_argument("--role", default="", help="agent or admin")
    parser.add_argument("--stack", default="omnichannel-dev", help="the stack whose UserPoolId output to use")
    parser.add_argument("--user-pool-id", default=None, help="the user pool, instead of looking it up in the stack")
    parser.add_argument("--region", default=None)
    args = parser.parse_args(argv)
    if not args.email or not args.role:
        parser.error("usage: make staff-user EMAIL=someone@shop.com ROLE=agent|admin [STACK=omnichannel-prod]")
    aws = session(region_name=args.region)
    try:
        pool = args.user_pool_id or user_pool_of(args.stack, aws.client("cloudformation"))
        outcome = make_staff_user(args.email, args.role, pool, aws.client("cognito-idp"))
    except StaffUserError as exc:
        print(f"staff-user: {exc}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as exc:
        print(f"staff-user: AWS refused: {exc}", file=sys.stderr)
        return 1
    print(outcome.describe())
    return 0


if __name__ == "__main__":
    sys.exit(main())
