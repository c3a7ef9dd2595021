"""How to reach OpenAI or any OpenAI-compatible server: shared by the OpenAI embedder and the
LLM composer."""

from __future__ import annotations

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator


def alias(name: str) -> AliasChoices:
    """Accept a well-known variable name as is (no ARTICLEBOT_ prefix)."""
    return AliasChoices(name, name.lower())


class OpenAISettings(BaseModel):
    """The OpenAI connection."""

    openai_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=alias("OPENAI_API_KEY"),
        description="API key for OpenAI or a compatible server. Never logged.",
    )
    openai_base_url: str | None = Field(
        default=None,
        validation_alias=alias("OPENAI_BASE_URL"),
        description="Base URL of an OpenAI-compatible server (Ollama, vLLM, llama.cpp...).",
    )
    openai_timeout: float = Field(
        default=30.0, gt=0, description="Seconds before an OpenAI request is abandoned."
    )
    openai_max_retries: int = Field(
        default=2, ge=0, le=10, description="Retries for OpenAI requests (429/5xx/timeouts)."
    )

    @field_validator("openai_base_url", mode="before")
    @classmethod
    def _blank_url_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value
