"""Every setting, assembled from each package's own and read once from the environment.

Our own settings use the prefix ``ARTICLEBOT_``; well-known names keep their usual
spelling (``OPENAI_API_KEY``, ``CHROMA_HOST``...). The command line reads them here and
passes the object down; each package only knows its own part (`retrieval.settings`,
`ingest.settings`, `bot.telegram.settings`).
"""

from __future__ import annotations

from pydantic import AliasChoices, BaseModel, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.observability.settings import ObservabilitySettings
from bot.telegram.settings import TelegramSettings
from ingest.settings import IngestSettings
from retrieval.answer.settings import AnswerSettings
from retrieval.openai_settings import OpenAISettings
from retrieval.settings import RetrievalSettings
from retrieval.store.settings import StoreSettings

#: The parts, in the order `.env.example` lists them.
PARTS: tuple[tuple[str, type[BaseModel]], ...] = (
    ("OpenAI or any OpenAI-compatible server", OpenAISettings),
    ("storage and embedding", StoreSettings),
    ("answering", AnswerSettings),
    ("ingest", IngestSettings),
    ("Telegram bot", TelegramSettings),
    ("monitoring and logs", ObservabilitySettings),
)


class Settings(
    RetrievalSettings, IngestSettings, TelegramSettings, ObservabilitySettings, BaseSettings
):
    """Every setting of articlebot; `.env.example` lists them with these descriptions."""

    model_config = SettingsConfigDict(
        env_prefix="ARTICLEBOT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )


def secret_values(settings: Settings) -> list[str]:
    """Every secret setting's value (tokens, API keys): kept out of the logs."""
    values = (getattr(settings, name) for name in Settings.model_fields)
    return [v.get_secret_value() for v in values if isinstance(v, SecretStr)]


def env_name(name: str) -> str:
    """The environment variable that sets field `name`."""
    alias = Settings.model_fields[name].validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return f"ARTICLEBOT_{name.upper()}"


def env_example() -> str:
    """Render `.env.example`: every setting, commented, with its default, by part."""
    lines = [
        "# articlebot settings. Copy to .env and uncomment what you change.",
        "# Generated from bot/settings.py (tests check that it is up to date).",
    ]
    shown_names: set[str] = set()
    for title, part in PARTS:
        lines += ["", f"# === {title} ==="]
        for name, field in part.model_fields.items():
            if name in shown_names:
                continue
            shown_names.add(name)
            default = field.get_default(call_default_factory=False)
            if field.default_factory is not None:
                shown = "(per-user data directory)" if name == "data_dir" else ""
            else:
                shown = "" if default is None else str(default)
            lines += ["", f"# {field.description}", f"# {env_name(name)}={shown}"]
    return "\n".join(lines) + "\n"
