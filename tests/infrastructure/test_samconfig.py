"""samconfig.toml: the dev and prod environments say what they should, in words the SAM CLI understands."""

from __future__ import annotations

import re
import shlex
import tomllib
from functools import cache
from typing import Any

import pytest

from tests.infrastructure.cfn_template import REPO_ROOT, load_template
from tests.infrastructure.sam_cli import SamCli

SAMCONFIG = REPO_ROOT / "samconfig.toml"


def _samconfig() -> dict[str, Any]:
    return tomllib.loads(SAMCONFIG.read_text(encoding="utf-8"))


def _parameters(environment: str, command: str) -> dict[str, Any]:
    section: dict[str, Any] = _samconfig()[environment][command]["parameters"]
    return section


def _overrides(environment: str) -> dict[str, str]:
    pairs = (item.partition("=") for item in shlex.split(_parameters(environment, "deploy")["parameter_overrides"]))
    return {name: value for name, _, value in pairs}


def test_default_environment_deploys_the_dev_stack() -> None:
    # Given samconfig.toml's default environment (what `sam build`, `sam deploy` ... use without --config-env)
    deploy = _parameters("default", "deploy")

    # Then it deploys the dev stack, asking before it changes anything
    assert _parameters("default", "global") == {"stack_name": "omnichannel-dev", "region": "eu-west-1"}
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert deploy["resolve_s3"] is True
    assert deploy["confirm_changeset"] is True
    assert _overrides("default") == {"Stage": "dev"}
    # And builds incrementally, validates with cfn-lint
    assert _parameters("default", "build") == {"cached": True, "parallel": True}
    assert _parameters("default", "validate") == {"lint": True}


def test_prod_environment_deploys_the_prod_stack() -> None:
    # Given the prod environment (`--config-env prod`)
    deploy = _parameters("prod", "deploy")

    # Then it deploys another stack, with the prod stage and quieter logs
    assert _parameters("prod", "global")["stack_name"] == "omnichannel-prod"
    assert _overrides("prod") == {"Stage": "prod", "LogLevel": "WARNING"}
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert deploy["resolve_s3"] is True
    # And a human confirms each change set, while a deploy with nothing to change is no failure (CI re-runs)
    assert deploy["confirm_changeset"] is True
    assert deploy["fail_on_empty_changeset"] is False


@pytest.mark.parametrize("environment", ["default", "prod"])
def test_parameter_overrides_are_template_parameters_with_allowed_values(environment: str) -> None:
    # Given the template's parameters
    parameters = load_template()["Parameters"]

    # Then every override names one of them, with a value it allows
    for name, value in _overrides(environment).items():
        assert name in parameters, f"{environment}: {name} is not a parameter of template.yaml"
        allowed = parameters[name].get("AllowedValues")
        assert allowed is None or value in allowed, f"{environment}: {name}={value} is not one of {allowed}"


@cache
def _help(sam: SamCli, command: str) -> str:
    result = sam.run(command, "--help")
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.sam
@pytest.mark.parametrize("environment", ["default", "prod"])
def test_every_setting_is_an_option_of_its_sam_command(sam: SamCli, environment: str) -> None:
    # Given an environment's settings, by command ("global" ones apply to every command; deploy takes them all)
    for command, section in _samconfig()[environment].items():
        help_text = _help(sam, "deploy" if command == "global" else command)

        # Then each one is an option of that command (a misspelt key would be silently ignored by SAM)
        for key in section["parameters"]:
            option = "--" + key.replace("_", "-")
            assert re.search(rf"{re.escape(option)}\b", help_text), f"[{environment}.{command}] {key}: no {option}"


@pytest.mark.sam
def test_sam_reads_the_prod_environment(sam: SamCli) -> None:
    # Given the SAM CLI asked to validate with the prod environment
    # When it runs (with debug logging, which shows the values it loaded)
    result = sam.run("validate", "--config-env", "prod", SAM_DEBUG="true")

    # Then it loaded the prod settings and linted the template with them, cleanly
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "'stack_name': 'omnichannel-prod'" in output
    assert "'lint': True" in output
    assert "is a valid SAM Template" in output
