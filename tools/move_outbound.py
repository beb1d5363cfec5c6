"""Move online-to-store and delivery items of a stack deployed before outbound had its own table (HandoffTable ->
OutboundTable), once, right after the deploy that creates OutboundTable.

    make move-outbound [STACK=omnichannel-prod] [DELETE=1]
    python -m tools.move_outbound --stack NAME [--delete] [--region R]
    python -m tools.move_outbound --handoff-table T --outbound-table T [--delete]

What moves (copied as they are; an item already in OutboundTable is left alone, so a second run copies nothing):
stores and their grid cells (``STORE#``, ``STOREGRID#``: stores, stock, stock holds and their revision), offer
decisions and caps (``OFFER#``, ``OFFERCAP#``) and outbox messages (``OUTBOX#``, deferred ones keep their place on
the due index). Each open reserve-in-store ticket also gets outbound's copy (``OFFERTICKET#``), so an offer still
waiting for 09:00 is checked again before it goes out and its hold ends when the ticket is redeemed; the tickets
themselves stay in HandoffTable (handoff owns them; the copy's ``ticket.requested`` finds them there and changes
nothing). With ``--delete`` the moved items are then deleted from HandoffTable. Conversations, tickets, tasks and
guess counters stay where they are. Needs AWS credentials allowed dynamodb:Scan, GetItem, PutItem and DeleteItem on
the two tables, and cloudformation:DescribeStacks to find them by stack name.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

MOVED_PREFIXES = ("STORE#", "STOREGRID#", "OFFER#", "OFFERCAP#", "OUTBOX#")
OFFER_TICKET_PREFIX = "OFFERTICKET#"


class MoveError(Exception):
    """Something the operator can fix, said in one line."""


@dataclass
class Moved:
    copied: int = 0
    already_there: int = 0
    offer_tickets: int = 0
    deleted: int = 0

    def describe(self) -> str:
        return (
            f"copied {self.copied} items ({self.already_there} were there already), "
            f"{self.offer_tickets} offer tickets, deleted {self.deleted} from the handoff table"
        )


def tables_of(stack: str, cloudformation: Any) -> tuple[str, str]:
    """The stack's HandoffTableName and OutboundTableName outputs."""
    try:
        stacks = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as exc:
        raise MoveError(
            f"stack {stack}: {exc.response['Error']['Message']} (STACK= the deployed stack's name)"
        ) from exc
    outputs = {item["OutputKey"]: item["OutputValue"] for item in stacks[0].get("Outputs", [])}
    if "OutboundTableName" not in outputs:
        raise MoveError(f"stack {stack} has no OutboundTableName output: deploy this version first")
    return str(outputs["HandoffTableName"]), str(outputs["OutboundTableName"])


def _scan(client: Any, table: str) -> Iterator[dict[str, Any]]:
    request: dict[str, Any] = {"TableName": table}
    while True:
        page = client.scan(**request)
        yield from page.get("Items", [])
        if not page.get("LastEvaluatedKey"):
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def offer_ticket_item(ticket: dict[str, Any]) -> dict[str, Any]:
    """Outbound's copy of an open reserve-in-store ticket item (``outbound.dal.offer_ticket_store``'s shape)."""

    def text(name: str) -> str | None:
        value = ticket.get(name)
        return str(value["S"]) if value else None

    code = ticket["code"]["S"]
    snapshot = text("cart_snapshot")
    body = {
        "ticket_id": ticket["ticket_id"]["S"],
        "profile_id": ticket["profile_id"]["S"],
        "from_channel": ticket["from_channel"]["S"],
        "to_channel": ticket["to_channel"]["S"],
        "reason": ticket["reason"]["S"],
        "note": text("note"),
        "created_by": text("created_by"),
        "created_at": ticket["created_at"]["S"],
        "expires_at": ticket["valid_until"]["S"],
        "purpose": ticket["purpose"]["S"],
        "store_id": text("store_id") or "",
        "cart_snapshot": json.loads(snapshot) if snapshot else {},
    }
    return {
        "pk": {"S": OFFER_TICKET_PREFIX + code},
        "sk": {"S": "TICKET"},
        "kind": {"S": "offer_ticket"},
        "code": {"S": code},
        "ticket": {"S": json.dumps(body, sort_keys=True)},
        "state": {"S": "open"},
        "store_id": {"S": body["store_id"]},
        "profile_id": {"S": body["profile_id"]},
        "profile_sk": {"S": f"{OFFER_TICKET_PREFIX}{body['created_at']}#{code}"},
        "expires_at": ticket["expires_at"],
    }


def _put_new(client: Any, table: str, item: dict[str, Any]) -> bool:
    try:
        client.put_item(TableName=table, Item=item, ConditionExpression="attribute_not_exists(pk)")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True


def move(client: Any, handoff_table: str, outbound_table: str, *, delete: bool = False) -> Moved:
    moved = Moved()
    for item in _scan(client, handoff_table):
        pk, sk = item["pk"]["S"], item["sk"]["S"]
        if pk.startswith(MOVED_PREFIXES):
            if _put_new(client, outbound_table, item):
                moved.copied += 1
            else:
                moved.already_there += 1
            if delete:
                client.delete_item(TableName=handoff_table, Key={"pk": item["pk"], "sk": item["sk"]})
                moved.deleted += 1
        elif (
            sk == "TICKET"
            and item.get("purpose", {}).get("S") == "reserve_in_store"
            and item.get("state", {}).get("S") == "open"
            and item.get("store_id")
            and _put_new(client, outbound_table, offer_ticket_item(item))
        ):
            moved.offer_tickets += 1
    return moved


def main(argv: Sequence[str] | None = None, *, session: Callable[..., Any] = boto3.session.Session) -> int:
    parser = argparse.ArgumentParser(prog="make move-outbound", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", default="omnichannel-dev", help="the stack whose table outputs to use")
    parser.add_argument("--handoff-table", default=None)
    parser.add_argument("--outbound-table", default=None)
    parser.add_argument("--delete", action="store_true", help="delete the moved items from the handoff table")
    parser.add_argument("--region", default=None)
    args = parser.parse_args(argv)
    aws = session(region_name=args.region)
    try:
        if args.handoff_table and args.outbound_table:
            handoff_table, outbound_table = args.handoff_table, args.outbound_table
        else:
            handoff_table, outbound_table = tables_of(args.stack, aws.client("cloudformation"))
        moved = move(aws.client("dynamodb"), handoff_table, outbound_table, delete=args.delete)
    except MoveError as exc:
        print(f"move-outbound: {exc}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as exc:
        print(f"move-outbound: AWS refused: {exc}", file=sys.stderr)
        return 1
    print(f"{handoff_table} -> {outbound_table}: {moved.describe()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
