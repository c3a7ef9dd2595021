"""The Telegram bot's settings: its token and server, who may use it, its limits."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from retrieval.openai_settings import alias

#: Telegram ids written as people write them: "42,77" (NoDecode: not JSON).
IdList = Annotated[frozenset[int] | None, NoDecode]


class TelegramSettings(BaseModel):
    """`articlebot telegram`'s settings."""

    telegram_bot_token: SecretStr | None = Field(
        default=None,
        validation_alias=alias("TELEGRAM_BOT_TOKEN"),
        description="Bot token from @BotFather for `articlebot telegram`. Never logged.",
    )
    telegram_base_url: str = Field(
        default="https://api.telegram.org/bot",
        description="Bot API URL before the token (a self-hosted telegram-bot-api server too).",
    )
    telegram_base_file_url: str | None = Field(
        default=None,
        description="Bot API file URL before the token; unset = derived from the base URL.",
    )
    allowed_user_ids: IdList = Field(
        default=None,
        description="Telegram user ids allowed to use the bot (42,77); unset = everyone.",
    )
    allowed_chat_ids: IdList = Field(
        default=None,
        description="Telegram chat ids (groups) allowed to use the bot; unset = every chat.",
    )
    admin_user_ids: IdList = Field(
        default=None,
        description="Telegram user ids that may /add URLs and upload documents to the index.",
    )
    telegram_questions_per_minute: int = Field(
        default=6, ge=1, le=600, description="Questions one Telegram user may ask per minute."
    )
    telegram_memory_minutes: float = Field(
        default=60.0,
        gt=0,
        description="Minutes of silence after which a chat's conversation is forgotten.",
    )
    telegram_edit_interval: float = Field(
        default=1.0, ge=0.1, description="Seconds between edits of a streamed LLM answer."
    )
    telegram_typing_interval: float = Field(
        default=4.0,
        gt=0,
        le=5.0,
        description='Seconds between "typing…" actions while answering (Telegram shows one ~5 s).',
    )
    telegram_answer_threads: int = Field(
        default=16,
        ge=1,
        le=256,
        description="Questions worked on at once (worker threads); more wait for a free one.",
    )
    telegram_rate_limit: bool = Field(
        default=True,
        description=(
            "Pace requests to Telegram's flood limits (30/s, 20/min per group) and retry"
            " after a 429; off only against a local test server."
        ),
    )
    telegram_webhook_secret: SecretStr | None = Field(
        default=None,
        description=(
            "Webhook mode: secret Telegram sends with every update (A-Z a-z 0-9 _ -, up to"
            " 256); requests without it are refused. Unset = a random one per run."
        ),
    )
    telegram_follow_topics: int = Field(
        default=10, ge=1, le=100, description="Topics one chat may /follow at once."
    )
    telegram_follow_per_hour: int = Field(
        default=10,
        ge=1,
        le=1000,
        description=(
            "Messages about followed topics one chat gets per hour; more wait for the next"
            " hour (the newest articles are not skipped)."
        ),
    )
    telegram_follow_every: float = Field(
        default=300.0,
        ge=5.0,
        le=86400.0,
        description="Seconds between looks for newly stored articles about followed topics.",
    )

    @field_validator("telegram_bot_token", mode="before")
    @classmethod
    def _blank_token_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("allowed_user_ids", "allowed_chat_ids", "admin_user_ids", mode="before")
    @classmethod
    def _id_list(cls, value: object) -> object:
        """Read "42, 77" (or a list) as a set of ids; blank = unset."""
        if isinstance(value, str):
            parts = [p for p in value.replace(";", ",").replace(" ", ",").split(",") if p]
            return frozenset(int(p) for p in parts) if parts else None
        return value

    @property
    def telegram_file_url(self) -> str:
        """The Bot API file URL before the token."""
        if self.telegram_base_file_url:
            return self.telegram_base_file_url
        base = self.telegram_base_url.rstrip("/")
        if base.endswith("/bot"):
            return base[: -len("/bot")] + "/file/bot"
        return base + "/file/bot"
