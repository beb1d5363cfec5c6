"""docs/deploy.md read against template.yaml and the Makefile: every parameter and output it names exists, its
tables name only parameters (first table) and outputs (second), and every `make` command it shows is a target."""

from __future__ import annotations

import re
from pathlib import Path

from tests.infrastructure.cfn_template import REPO_ROOT, load_template

GUIDE = REPO_ROOT / "docs" / "deploy.md"
TEMPLATE = load_template()
PARAMETERS = set(TEMPLATE["Parameters"])
OUTPUTS = set(TEMPLATE["Outputs"])
# CamelCase words in backticks that are neither: template keywords and SAM's own names
OTHER_TEMPLATE_WORDS = {"DeletionPolicy"}
CAMEL_CASE = re.compile(r"`([A-Z][a-z0-9]+(?:[A-Z][A-Za-z0-9]*)+)`")


def guide() -> str:
    return GUIDE.read_text(encoding="utf-8")


def table_names(text: str, header: str) -> set[str]:
    """The backticked names in the first column of the Markdown table whose header row starts with ``header``."""
    lines = text.splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith(f"| {header} |"))
    names: set[str] = set()
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        names |= set(re.findall(r"`([^`]+)`", line.split("|")[1]))
    return names


def test_every_camel_case_name_in_the_guide_is_a_parameter_or_an_output() -> None:
    named = set(CAMEL_CASE.findall(guide()))
    unknown = named - PARAMETERS - OUTPUTS - OTHER_TEMPLATE_WORDS
    assert not unknown, f"docs/deploy.md names what template.yaml does not have: {sorted(unknown)}"
    # The guide is about these: it must name at least the ones an operator cannot do without
    assert {"SesFromAddress", "OfferChannels", "ConsoleCallbackUrls", "PublicBaseUrl"} <= named
    assert {"ApiUrl", "ConsoleUrl", "ConsoleCallbackUrl", "CaptureSecretArn", "HandoffOutboundSecretArn"} <= named


def test_the_parameter_table_names_parameters_and_the_output_table_outputs() -> None:
    text = guide()
    parameters = table_names(text, "parameter")
    outputs = table_names(text, "output")
    assert parameters
    assert outputs
    assert parameters <= PARAMETERS, sorted(parameters - PARAMETERS)
    assert outputs <= OUTPUTS, sorted(outputs - OUTPUTS)


def test_webhook_urls_of_the_guide_are_outputs_for_every_provider_route() -> None:
    text = guide()
    for output in ("WhatsAppWebhookUrl", "MessengerWebhookUrl", "InstagramWebhookUrl", "TwilioSmsWebhookUrl"):
        assert f"`{output}`" in text
        assert output in OUTPUTS
    assert "TwilioVoiceWebhookUrl" in OUTPUTS
    assert "PosWebhookUrl" in OUTPUTS


def test_every_make_command_in_the_guide_is_a_make_target() -> None:
    targets = set(re.findall(r"^([a-z0-9-]+):", (REPO_ROOT / "Makefile").read_text(encoding="utf-8"), re.MULTILINE))
    used = set(re.findall(r"\bmake ([a-z][a-z0-9-]*)", guide()))
    assert {"setup", "staff-user", "smoke"} <= used
    assert used <= targets, sorted(used - targets)


def test_the_guide_lives_in_the_projects_own_docs() -> None:
    # nothing in it leads out of the repository (a reader of the project has only the project)
    assert "../" not in guide()
    assert Path(GUIDE).is_file()
