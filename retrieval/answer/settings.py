"""How questions are answered: which composer, the LLM's model, passages, memory."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from retrieval.openai_settings import OpenAISettings


class AnswerSettings(OpenAISettings):
    """The answering pipeline's settings."""

    answerer: Literal["auto", "offline", "llm"] = Field(
        default="auto",
        description=(
            "Who writes answers: offline (no LLM, no key), llm (OpenAI-compatible chat model),"
            " or auto (llm when OPENAI_API_KEY or OPENAI_BASE_URL is set, else offline)."
        ),
    )
    llm_connect_timeout: float = Field(
        default=3.0,
        gt=0,
        le=60,
        description=(
            "Seconds the LLM server has to accept a connection; in auto mode an unreachable"
            " one gets the question answered offline, with a notice."
        ),
    )
    llm_retry_seconds: float = Field(
        default=60.0,
        ge=0,
        description=(
            "Auto mode: seconds answers stay offline after the LLM server was unreachable,"
            " before it is tried again."
        ),
    )
    llm_model: str = Field(
        default="gpt-4o-mini", description="Chat model name for the LLM answerer."
    )
    llm_temperature: float = Field(
        default=0.0, ge=0.0, le=2.0, description="Sampling temperature of the LLM answerer."
    )
    top_k: int = Field(
        default=5, ge=1, le=50, description="Passages retrieved per question (and citable)."
    )
    history_turns: int = Field(
        default=6, ge=0, le=50, description="Previous turns kept to understand follow-ups."
    )
    news_aware: bool = Field(
        default=True,
        description=(
            "News-aware answers: dated and attributed claims, recency for 'latest/now/still'"
            " questions, timelines, syndicated copies merged, conflicting figures shown"
            " (false: plain answers, as the answerer writes them)."
        ),
    )
    follow_min_probability: float = Field(
        default=0.45,
        ge=0.0,
        le=1.0,
        description=(
            "A new article is about a followed topic (/follow) when the refusal model's"
            " probability that it answers the topic is at least this (calibrated:"
            " bench/fit_follow.py, docs/news.md)."
        ),
    )

    @property
    def use_llm(self) -> bool:
        """Whether answers come from the LLM (explicitly, or because one is configured)."""
        if self.answerer == "auto":
            return self.openai_api_key is not None or self.openai_base_url is not None
        return self.answerer == "llm"
