"""DynamoDB stream entry point of carts: announces what the carts table's writes carry in their ``outbox``
(``cart.updated``, ``cart.recovered``, ``cart.merged``). The table is the outbox: see ``omnichannel.stream_outbox``
(a bus that refuses makes the stream retry from the first record whose events failed). A stream batch's events go
out in bundles (``BusBundling``, ``omnichannel.event_bus``): ``cart.updated`` is announced for every cart change,
so one bus entry per change was most of what carts cost on the bus."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from carts import wiring
from carts.observability import logger, metrics, tracer
from omnichannel.event_bus import bus_publisher
from omnichannel.stream_outbox import announced_by_outbox, publish_stream_batch


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return publish_stream_batch(
        event.get("Records", []),
        bus_publisher(wiring.get_publisher()),
        announced_by_outbox,
        logger=logger,
        metrics=metrics,
    )
