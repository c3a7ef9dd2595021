"""Settings of the monitoring listener and of the log format."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ObservabilitySettings(BaseModel):
    """Where `/healthz`, `/readyz` and `/metrics` are served, and how logs are written."""

    monitor_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description=(
            "Port of the HTTP listener serving /healthz, /readyz and /metrics for"
            " `articlebot telegram` and `watch`; unset = no listener."
        ),
    )
    monitor_host: str = Field(
        default="127.0.0.1",
        description="Address the monitoring listener binds (0.0.0.0 exposes it to the network).",
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description=(
            "Log lines as text, or one JSON object each (time, level, logger, message,"
            " request_id, exception)."
        ),
    )
