"""Deploy-time validation: template.yaml's Rules refuse parameters that could not work (e-mail offers without an
SES sender) before CloudFormation creates anything. The local runtime asserts the same Rules when it starts."""

from __future__ import annotations

from typing import Any

import pytest

from local_runtime.runtime import LocalRuntime
from local_runtime.template import Intrinsics, TemplateError, load_template, parameter_values
from tests.infrastructure.cfn_template import TEMPLATE_PATH


def check(**overrides: str) -> None:
    """The template's Rules against its parameters' defaults and ``overrides`` (as `sam deploy` passes them)."""
    body = load_template(TEMPLATE_PATH).body
    intrinsics = Intrinsics(
        parameters=parameter_values(body["Parameters"], overrides),
        pseudo={"AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012", "AWS::StackName": "omnichannel"},
        ref=lambda name: name,
        get_att=lambda name, attribute: f"{name}.{attribute}",
        conditions=body.get("Conditions"),
    )
    intrinsics.check_rules(body["Rules"])


def test_the_defaults_fail_the_deploy_until_the_ses_sender_is_set() -> None:
    # Given the template's defaults: offers on WhatsApp, SMS and e-mail, and no SES sender
    with pytest.raises(TemplateError) as refused:
        check()
    # Then the deploy is refused, and the message says what to set (not the first offer failing later)
    assert "rule EmailOffersNeedASender" in str(refused.value)
    assert "SesFromAddress must name the verified SES identity" in str(refused.value)


@pytest.mark.parametrize(
    "overrides",
    [
        {"SesFromAddress": "offers@shop.com.tr"},
        {"OfferChannels": "whatsapp,sms"},
        {"OfferChannels": "sms", "SesFromAddress": ""},
    ],
    ids=["sender set", "no e-mail offers", "sms only"],
)
def test_a_sender_or_offers_without_email_pass(overrides: dict[str, Any]) -> None:
    check(**overrides)


def test_email_anywhere_in_the_list_needs_the_sender() -> None:
    with pytest.raises(TemplateError, match="EmailOffersNeedASender"):
        check(OfferChannels="sms,email")


def test_the_local_runtime_refuses_to_start_on_parameters_a_deploy_would_refuse() -> None:
    with pytest.raises(TemplateError, match="rule EmailOffersNeedASender: OfferChannels includes email"):
        LocalRuntime.start(TEMPLATE_PATH, mode="inprocess", parameters={"SesFromAddress": ""})


def test_every_parameter_of_a_rule_exists() -> None:
    body = load_template(TEMPLATE_PATH).body

    def refs(value: Any) -> set[str]:
        if isinstance(value, dict):
            found = {value["Ref"]} if set(value) == {"Ref"} else set()
            return found | {name for item in value.values() for name in refs(item)}
        if isinstance(value, list):
            return {name for item in value for name in refs(item)}
        return set()

    assert refs(body["Rules"]) == {"OfferChannels", "SesFromAddress"} <= set(body["Parameters"])
