"""The texts of outbound messages, by template name and channel (pure).

On WhatsApp a business-initiated message outside the 24-hour customer service window must be an approved
template: the sender sends the template's name with ``parameters`` (in this order) as its body parameters, and
falls back to the rendered text only when configured to (e.g. for a sandbox). SMS and e-mail get the text.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Template:
    name: str
    subject: str
    text: str
    parameters: tuple[str, ...]  # the variables, in the order a WhatsApp template's {{1}}, {{2}} ... take them


TEMPLATES: dict[str, Template] = {
    # The online-to-store offer (the name events/handoff/message_requested.json uses too).
    "reserve_in_store": Template(
        name="reserve_in_store",
        subject="Your cart is waiting at {store_name}",
        text=(
            "Good news: {product} from your cart are in stock at {store_name} ({distance_km} km from you). "
            "Show code {code} in store to reserve them; valid until {valid_until}."
        ),
        parameters=("product", "store_name", "distance_km", "code", "valid_until"),
    ),
}


class UnknownTemplate(KeyError):
    pass


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    parameters: tuple[str, ...]


def render(template: str, variables: dict[str, str]) -> Rendered:
    known = TEMPLATES.get(template)
    if known is None:
        raise UnknownTemplate(template)
    values = {name: variables.get(name, "") for name in known.parameters}
    return Rendered(
        subject=known.subject.format_map(values),
        text=known.text.format_map(values),
        parameters=tuple(values[name] for name in known.parameters),
    )
