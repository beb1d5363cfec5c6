"""E-mail through Amazon SES and SMS through Amazon SNS.

Throttling, server errors and requests that got no answer are transient (tried again later); anything else
(an unverified sender, a rejected address, an opted-out phone number) is permanent.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from omnichannel.event_bus import error_code, is_transient
from outbound.delivery.message import OutboundMessage, SendError
from outbound.delivery.templates import Rendered

CHARSET = "UTF-8"


def _send_error(error: ClientError | BotoCoreError, provider: str) -> SendError:
    code = error_code(error)
    return SendError(f"{provider}: {code}", transient=is_transient(error), code=code)


class SesSender:
    """``ses.send_email`` from ``from_address`` (a verified identity) to the message's address."""

    def __init__(self, client: Any, from_address: str, configuration_set: str = "") -> None:
        self._client = client
        self._from = from_address
        self._configuration_set = configuration_set

    def send(self, message: OutboundMessage, rendered: Rendered) -> str:
        if not self._from:
            raise SendError("ses: no sender address configured (SesFromAddress)", transient=False, code="NoSender")
        request: dict[str, Any] = {
            "Source": self._from,
            "Destination": {"ToAddresses": [message.to]},
            "Message": {
                "Subject": {"Data": rendered.subject, "Charset": CHARSET},
                "Body": {"Text": {"Data": rendered.text, "Charset": CHARSET}},
            },
            "Tags": [{"Name": "message_id", "Value": message.message_id}],
        }
        if self._configuration_set:
            request["ConfigurationSetName"] = self._configuration_set
        try:
            response = self._client.send_email(**request)
        except (ClientError, BotoCoreError) as error:
            raise _send_error(error, "ses") from error
        return str(response["MessageId"])


class SnsSmsSender:
    """``sns.publish`` straight to the phone number (no topic), as a promotional SMS."""

    def __init__(self, client: Any, sender_id: str = "") -> None:
        self._client = client
        self._sender_id = sender_id

    def send(self, message: OutboundMessage, rendered: Rendered) -> str:
        attributes: dict[str, Any] = {
            "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Promotional"},
        }
        if self._sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": self._sender_id}
        try:
            response = self._client.publish(PhoneNumber=message.to, Message=rendered.text, MessageAttributes=attributes)
        except (ClientError, BotoCoreError) as error:
            raise _send_error(error, "sns") from error
        return str(response["MessageId"])
