"""The settings analytics.js (``@segment/analytics-next``) loads before it sends anything: Segment's CDN shape.

analytics.js reads ``integrations["Segment.io"]`` (where to post: ``protocol``://``apiHost``), loads a device-mode
bundle for every other integration (none here), and samples its own telemetry at ``metrics.sampleRate`` (0 here:
nothing ever goes to Segment).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class SegmentIoSettings(BaseModel):
    """``integrations["Segment.io"]``: the only integration, pointing analytics.js at this API."""

    model_config = ConfigDict(extra="forbid")

    apiKey: str = Field(description="The write key the settings were asked for")
    apiHost: str = Field(description="Host and path analytics.js posts to (no scheme)", examples=["api.shop/v1"])
    protocol: str = Field(description="http or https", examples=["https"])
    addBundledMetadata: bool = True
    unbundledIntegrations: list[str] = Field(default_factory=list)
    maybeBundledConfigIds: dict[str, list[str]] = Field(default_factory=dict)
    versionSettings: dict[str, Any] = Field(default_factory=lambda: {"componentTypes": ["browser"]})


class SdkMetrics(BaseModel):
    """analytics.js's own telemetry; a sample rate of 0 sends none (it would go to api.segment.io)."""

    sampleRate: float = 0


class CdnSettings(BaseModel):
    """What ``GET {cdnURL}/v1/projects/{writeKey}/settings`` answers on Segment's CDN, for this API."""

    integrations: dict[str, SegmentIoSettings]
    plan: dict[str, Any] = Field(default_factory=dict)
    enabledMiddleware: dict[str, bool] = Field(default_factory=dict)
    middlewareSettings: dict[str, Any] = Field(default_factory=dict)
    metrics: SdkMetrics = Field(default_factory=SdkMetrics)
    legacyVideoPluginsEnabled: bool = False
    remotePlugins: list[dict[str, Any]] = Field(default_factory=list)
    edgeFunction: dict[str, Any] = Field(default_factory=dict)
    analyticsNextEnabled: bool = True
