"""Environment read once into typed settings (never os.environ scattered through the code)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

SettingsT = TypeVar("SettingsT", bound=BaseModel)


class CommonSettings(BaseModel):
    """Settings every function reads from its environment (template.yaml Globals)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    stage: str = "dev"
    event_bus_name: str = "default"
    default_phone_region: str = "TR"


def settings_from_env(model: type[SettingsT], environ: Mapping[str, str] | None = None) -> SettingsT:
    """Build ``model`` from environment variables (``EVENTS_TABLE_NAME`` fills ``events_table_name``)."""
    source = os.environ if environ is None else environ
    return model.model_validate({key.lower(): value for key, value in source.items()})
