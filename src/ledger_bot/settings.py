"""Every setting of Ledger Bot, in one table.

Settings are read once, from ``LEDGER_BOT_*`` environment variables (and a ``.env`` file when
present), validated, and passed down as a value. No other module reads the environment. The
configuration reference in ``docs/configuration.md`` is generated from this table
(``ledger-bot config --markdown``) and a test keeps the two in step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ledger_bot.errors import ConfigError

ENV_PREFIX = "LEDGER_BOT_"
DEFAULT_DB = Path(".ledger-bot") / "knowledge.db"


def _secret(description: str, *, also: str | None = None) -> Any:
    """A secret setting; ``also`` is the name the platform's own tools use for it."""
    extra: dict[str, Any] = {"secret": True}
    if also is None:
        return Field(default=None, description=description, json_schema_extra=extra, repr=False)
    extra["also"] = also
    return Field(
        default=None,
        description=description,
        json_schema_extra=extra,
        validation_alias=AliasChoices(ENV_PREFIX + also, also),
        repr=False,
    )


def _split_list(value: object, separator: str = ",") -> object:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(separator) if part.strip())
    return value


DEFAULT_PROMPTS = (
    "What can you answer questions about?",
    "Where is the on-call runbook?",
    "How do I get started as a new engineer?",
)


class Settings(BaseSettings):
    """Ledger Bot's configuration. Field descriptions are the help texts shown in the docs."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
        populate_by_name=True,
    )

    # Knowledge base
    db: Path = Field(
        default=DEFAULT_DB,
        description="Path of the SQLite knowledge-base file (created by `ledger-bot index`).",
    )
    sources: Annotated[tuple[Path, ...], NoDecode] = Field(
        default=(),
        description="Folders and files the knowledge base is built from, comma-separated.",
    )
    source_base_url: str | None = Field(
        default=None,
        description=(
            "Base URL of the indexed documents; a document's URL is this plus its source path "
            "unless its front matter sets `url:`."
        ),
    )
    chunk_chars: int = Field(
        default=1200,
        ge=200,
        le=20_000,
        description="Largest chunk of text, in characters, that is indexed and retrieved as one.",
    )
    max_file_bytes: int = Field(
        default=20_000_000,
        ge=1_000,
        description="Files larger than this many bytes are skipped when indexing.",
    )
    synonyms_file: Path | None = Field(
        default=None,
        description=(
            "The team's synonyms: one group of words or phrases that mean the same per line, "
            "comma-separated (`freeze, close account`). Questions are searched with them; the "
            "file is re-read when it changes and never indexed as a document."
        ),
    )
    # Answers
    search_limit: int = Field(
        default=5, ge=1, le=100, description="Passages retrieved for each question."
    )
    max_question_chars: int = Field(
        default=4000,
        ge=50,
        le=100_000,
        description="Longest question accepted; longer text is truncated with a note.",
    )
    answer_min_support: float = Field(
        default=0.33,
        ge=0.0,
        le=1.0,
        description=(
            "Share of a question's weighted key terms that the best passage must contain for the "
            "extractive answerer to answer instead of saying it does not know."
        ),
    )
    answer_max_quotes: int = Field(
        default=4,
        ge=1,
        le=10,
        description=(
            "Most passages quoted in an extractive answer: the best document's, a second one of "
            "it when that answers another part of the question, then one of each other document."
        ),
    )
    # Serving
    host: str = Field(default="0.0.0.0", description="Address the HTTP server listens on.")  # noqa: S104
    port: int = Field(
        default=8080, ge=0, le=65535, description="Port of the HTTP server (health, metrics)."
    )
    sync_interval: float = Field(
        default=300.0,
        ge=0,
        description="Seconds between full re-syncs of LEDGER_BOT_SOURCES by `serve` (0: never).",
    )
    sync_poll: float = Field(
        default=5.0,
        ge=0,
        description="Seconds between checks of LEDGER_BOT_SOURCES for changed files (0: never).",
    )
    canary_question: str | None = Field(
        default=None,
        description=(
            "A question `serve` asks itself every LEDGER_BOT_CANARY_INTERVAL seconds with the "
            "offline answerer; when it is not answered, /ready shows `canary` degraded and "
            "ledger_bot_canary_ok is 0. Unset: no canary."
        ),
    )
    canary_source: str | None = Field(
        default=None,
        description="Source id the canary's answer must cite (e.g. `runbooks/on-call.md`).",
    )
    canary_interval: float = Field(
        default=60.0, ge=5, description="Seconds between two askings of the canary question."
    )
    shutdown_grace: float = Field(
        default=20.0,
        ge=0,
        description="Seconds `serve` waits for questions in flight after SIGTERM before exiting.",
    )
    answer_timeout: float = Field(
        default=30.0, gt=0, description="Seconds after which a question is answered with an error."
    )
    # Shared state
    state_url: str | None = Field(
        default=None,
        description=(
            "Shared state for several replicas: a `postgresql://` URL. Unset: a SQLite file "
            "next to the knowledge base (one replica only)."
        ),
        json_schema_extra={"secret": True},
        repr=False,
    )
    state_url_file: Path | None = Field(
        default=None,
        description="File holding LEDGER_BOT_STATE_URL (a mounted Secret); wins over the variable.",
    )
    question_retention_days: float = Field(
        default=90.0,
        ge=0,
        description=(
            "Days the question log (questions, answers, feedback) is kept in the shared state "
            "before `serve` deletes it (0: keep it forever)."
        ),
    )
    # Rate limits and budgets
    user_rate_per_minute: float = Field(
        default=6.0, ge=0, description="Questions one person may ask per minute (0: no limit)."
    )
    user_burst: int = Field(
        default=5,
        ge=1,
        description="Questions one person may ask in a burst before the rate applies.",
    )
    channel_rate_per_minute: float = Field(
        default=30.0, ge=0, description="Questions per minute in one channel (0: no limit)."
    )
    channel_burst: int = Field(default=20, ge=1, description="Burst size of the channel limit.")
    global_rate_per_minute: float = Field(
        default=300.0, ge=0, description="Questions per minute across all askers (0: no limit)."
    )
    global_burst: int = Field(default=100, ge=1, description="Burst size of the global limit.")
    daily_question_budget: int = Field(
        default=0, ge=0, description="Questions answered per UTC day across all askers (0: no cap)."
    )
    # Slack
    slack_mode: str = Field(
        default="socket",
        description=(
            "How Slack reaches the bot: `socket` (Socket Mode, needs the app token) or `http` "
            "(the Events API at `/slack/events` on LEDGER_BOT_PORT, needs the signing secret). "
            "Slack is off while no bot token is set."
        ),
    )
    slack_bot_token: str | None = _secret(
        "Bot token (`xoxb-…`); setting it turns the Slack adapter on. Also read from "
        "`SLACK_BOT_TOKEN`.",
        also="SLACK_BOT_TOKEN",
    )
    slack_bot_token_file: Path | None = Field(
        default=None, description="File holding the bot token (a mounted Secret); wins over it."
    )
    slack_app_token: str | None = _secret(
        "App-level token (`xapp-…`, scope `connections:write`) for Socket Mode. Also read from "
        "`SLACK_APP_TOKEN`.",
        also="SLACK_APP_TOKEN",
    )
    slack_app_token_file: Path | None = Field(
        default=None, description="File holding the app-level token; wins over the variable."
    )
    slack_signing_secret: str | None = _secret(
        "Signing secret that verifies Events API requests in `http` mode. Also read from "
        "`SLACK_SIGNING_SECRET`.",
        also="SLACK_SIGNING_SECRET",
    )
    slack_signing_secret_file: Path | None = Field(
        default=None, description="File holding the signing secret; wins over the variable."
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/",
        description=(
            "Base URL of Slack's Web API, for Slack-compatible proxies; Socket Mode's URL comes "
            "from `apps.connections.open` on it."
        ),
    )
    slack_command: str = Field(
        default="/ledger", description="Slash command that asks the bot privately."
    )
    slack_allowed_channels: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description=(
            "Channel IDs the bot answers in, comma-separated (empty: every channel it is in). "
            "Direct messages are always answered."
        ),
    )
    slack_answer_bots: bool = Field(
        default=False, description="Answer questions from other bots and workflows too."
    )
    slack_escalation_channel: str | None = Field(
        default=None,
        description=(
            'Channel ID where "Ask a human" posts a question the bot could not answer well '
            "(unset: no hand-off button)."
        ),
    )
    slack_escalation_usergroup: str | None = Field(
        default=None,
        description="User group ID (`S…`) mentioned in hand-offs to the escalation channel.",
    )
    slack_placeholder_after: float = Field(
        default=0.5,
        ge=0,
        le=5,
        description=(
            'Seconds the bot waits for an answer before showing "Thinking…" (or the assistant '
            "status); a faster answer is posted directly, saving a Slack call (0: always)."
        ),
    )
    slack_thread_history: int = Field(
        default=20,
        ge=1,
        le=200,
        description="Messages of a thread read as the conversation so far for a follow-up.",
    )
    slack_suggested_prompts: Annotated[tuple[str, ...], NoDecode] = Field(
        default=DEFAULT_PROMPTS,
        description="Prompts suggested when someone opens the assistant pane, `|`-separated.",
    )
    # Language model
    llm_provider: str = Field(
        default="none",
        description=(
            "Language model that writes answers: `none` (extractive answers only), `openai` "
            "(any OpenAI-compatible Chat Completions API: OpenAI, Azure OpenAI, vLLM, Ollama, "
            "llama.cpp, LM Studio) or `anthropic`."
        ),
    )
    llm_model: str | None = Field(
        default=None, description="Model name sent to the provider (required with a provider)."
    )
    llm_base_url: str | None = Field(
        default=None,
        description=(
            "API base URL, for OpenAI-compatible servers and proxies (unset: the provider's)."
        ),
    )
    llm_api_key: str | None = _secret(
        "API key of the provider. `OPENAI_API_KEY` or `ANTHROPIC_API_KEY` is used when unset."
    )
    llm_api_key_file: Path | None = Field(
        default=None, description="File holding the API key (a mounted Secret); wins over it."
    )
    openai_api_key: str | None = Field(
        default=None,
        description=(
            "The OpenAI SDK's usual key variable, used when LEDGER_BOT_LLM_API_KEY is unset."
        ),
        validation_alias=AliasChoices("OPENAI_API_KEY"),
        json_schema_extra={"secret": True, "env": "OPENAI_API_KEY"},
        repr=False,
    )
    anthropic_api_key: str | None = Field(
        default=None,
        description="The Anthropic SDK's usual key variable, used when LEDGER_BOT_LLM_API_KEY is "
        "unset.",
        validation_alias=AliasChoices("ANTHROPIC_API_KEY"),
        json_schema_extra={"secret": True, "env": "ANTHROPIC_API_KEY"},
        repr=False,
    )
    llm_timeout: float = Field(
        default=20.0,
        gt=0,
        le=600,
        description="Seconds a model's whole answer may take before the extractive answer is sent.",
    )
    llm_connect_timeout: float = Field(
        default=3.0, gt=0, le=60, description="Seconds to connect to the provider."
    )
    llm_first_token_timeout: float = Field(
        default=4.0,
        gt=0,
        le=120,
        description=(
            "Seconds until the model's first words; later, the extractive answer goes out instead "
            "(keeps answers within the 5-second objective when the model is slow)."
        ),
    )
    llm_max_retries: int = Field(
        default=2, ge=0, le=10, description="Retries (with backoff) after a 429 or 5xx."
    )
    llm_max_output_tokens: int = Field(
        default=800, ge=16, le=32_000, description="Longest answer the model may write, in tokens."
    )
    llm_temperature: float = Field(
        default=0.2,
        ge=0,
        le=2,
        description=(
            "Sampling temperature (OpenAI-compatible models; current Claude models take none)."
        ),
    )
    llm_context_tokens: int = Field(
        default=3000, ge=200, le=200_000, description="Token budget of the documents in a prompt."
    )
    llm_history_tokens: int = Field(
        default=1000, ge=0, le=100_000, description="Token budget of the conversation so far."
    )
    llm_rewrite_below: float = Field(
        default=0.33,
        ge=0.0,
        le=1.0,
        description=(
            "When the passages found carry less than this share of a question's weighted terms "
            "(the extractive answerer's support), the language model first names the words the "
            "documents likely use for it and search runs again with them; 0 turns it off."
        ),
    )
    llm_breaker_failures: int = Field(
        default=3,
        ge=1,
        description="Failed calls in a row after which the provider is not called for a while.",
    )
    llm_breaker_cooldown: float = Field(
        default=30.0,
        gt=0,
        description="Seconds the provider is left alone after the breaker opens.",
    )
    llm_prices: str = Field(
        default="",
        description=(
            "Price table, `model=INPUT:OUTPUT` in US dollars per million tokens, comma-separated "
            "(e.g. `gpt-4o-mini=0.15:0.60`). Costs of unlisted models count as 0."
        ),
    )
    llm_daily_budget_usd: float = Field(
        default=0.0,
        ge=0,
        description="Spending cap per UTC day across all askers; beyond it answers are "
        "extractive (0: no cap).",
    )
    llm_user_daily_budget_usd: float = Field(
        default=0.0, ge=0, description="Spending cap per asker per UTC day (0: no cap)."
    )
    # MCP
    mcp_enabled: bool = Field(
        default=False,
        description=(
            "Serve the knowledge base over MCP (streamable HTTP) at `/mcp` on LEDGER_BOT_PORT; "
            "needs LEDGER_BOT_MCP_TOKENS. `ledger-bot mcp` serves stdio regardless."
        ),
    )
    mcp_tokens: str | None = Field(
        default=None,
        description="Bearer tokens accepted at `/mcp`, comma-separated (one per teammate or tool).",
        json_schema_extra={"secret": True},
        repr=False,
    )
    mcp_tokens_file: Path | None = Field(
        default=None,
        description="File holding the MCP bearer tokens, one per line; wins over the variable.",
    )
    mcp_max_output_chars: int = Field(
        default=8000,
        ge=1000,
        le=100_000,
        description="Longest tool output, in characters; longer results say how to get the rest.",
    )
    # Language
    default_language: str = Field(
        default="en",
        description=(
            "Language of the bot's own messages when the asker's is unknown: en, es, de, fr or "
            "ja. Answers follow the asker's Slack locale, else the language of the question."
        ),
    )
    # Logging
    log_level: str = Field(default="INFO", description="Log level: DEBUG, INFO, WARNING or ERROR.")
    log_format: str = Field(
        default="auto",
        description="Log format: `json` (one object per line), `console`, or `auto` (console on a "
        "terminal, JSON otherwise).",
    )

    @property
    def slack_enabled(self) -> bool:
        """Slack is on when a bot token is set, as a value or a file."""
        return bool(self.slack_bot_token or self.slack_bot_token_file)

    @field_validator(
        "synonyms_file",
        "state_url_file",
        "slack_bot_token_file",
        "slack_app_token_file",
        "slack_signing_secret_file",
        "llm_api_key_file",
        "mcp_tokens_file",
        mode="before",
    )
    @classmethod
    def _empty_path_is_unset(cls, value: object) -> object:
        # `LEDGER_BOT_X_FILE=` (set but empty, as templates leave it) means no file, not ".".
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("sources", mode="before")
    @classmethod
    def _split_sources(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(Path(part.strip()) for part in value.split(",") if part.strip())
        return value

    @field_validator("slack_allowed_channels", mode="before")
    @classmethod
    def _split_channels(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("slack_suggested_prompts", mode="before")
    @classmethod
    def _split_prompts(cls, value: object) -> object:
        return _split_list(value, "|")

    @field_validator("default_language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        code = value.strip().lower().replace("_", "-").split("-")[0]
        if code not in {"en", "es", "de", "fr", "ja"}:
            raise ValueError("must be one of en, es, de, fr, ja")
        return code

    @field_validator("llm_provider")
    @classmethod
    def _known_provider(cls, value: str) -> str:
        if value not in {"none", "openai", "anthropic"}:
            raise ValueError("must be none, openai or anthropic")
        return value

    @field_validator("llm_prices")
    @classmethod
    def _valid_prices(cls, value: str) -> str:
        from ledger_bot.answering.resilience import parse_prices

        parse_prices(value)
        return value

    @model_validator(mode="after")
    def _question_for_canary_source(self) -> Settings:
        if self.canary_source and not self.canary_question:
            raise ValueError(
                "LEDGER_BOT_CANARY_QUESTION: set the question whose answer must cite "
                f"LEDGER_BOT_CANARY_SOURCE={self.canary_source}"
            )
        return self

    @model_validator(mode="after")
    def _model_for_provider(self) -> Settings:
        if self.llm_provider != "none" and not self.llm_model:
            raise ValueError(
                "LEDGER_BOT_LLM_MODEL: set the model to use with "
                f"LEDGER_BOT_LLM_PROVIDER={self.llm_provider}"
            )
        return self

    @field_validator("slack_mode")
    @classmethod
    def _known_mode(cls, value: str) -> str:
        if value not in {"socket", "http"}:
            raise ValueError("must be socket or http")
        return value

    @field_validator("slack_command")
    @classmethod
    def _command_shape(cls, value: str) -> str:
        if not re.fullmatch(r"/[a-z0-9_-]{1,31}", value):
            raise ValueError("must be a slash and up to 31 lowercase letters, digits, - or _")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url_shape(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s):// URL")
        return value if value.endswith("/") else value + "/"

    @field_validator("slack_escalation_usergroup")
    @classmethod
    def _usergroup_shape(cls, value: str | None) -> str | None:
        if value and not re.fullmatch(r"S[A-Z0-9]+", value):
            raise ValueError("must be a user group ID such as S0123ABCD")
        return value or None

    @field_validator("log_format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value not in {"json", "console", "auto"}:
            raise ValueError("must be one of json, console, auto")
        return value

    @field_validator("state_url")
    @classmethod
    def _known_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return level


def env_name(field: str) -> str:
    name = field.upper()
    return name if name.startswith(ENV_PREFIX) else ENV_PREFIX + name


def load_settings(**overrides: Any) -> Settings:
    """Read the settings once; a bad value raises ConfigError naming the variable to fix."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            if not error["loc"]:  # a rule across settings; its message names them
                problems.append(str(error["msg"]).removeprefix("Value error, "))
                continue
            field = str(error["loc"][0])
            problems.append(f"{env_name(field)}: {error['msg']} (got {error.get('input')!r})")
        raise ConfigError("invalid setting: " + "; ".join(problems)) from None


@dataclass(frozen=True, slots=True)
class SettingDoc:
    name: str
    default: str
    help: str
    secret: bool


def settings_table() -> list[SettingDoc]:
    """Name, default, help and secret flag of every setting, in declaration order."""
    rows = []
    for field_name, info in Settings.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        default = info.get_default(call_default_factory=True)
        name = str(extra["env"]) if "env" in extra else env_name(field_name)
        if isinstance(default, tuple):
            shown = ",".join(str(item) for item in default)
        elif default is None:
            shown = ""
        else:
            shown = str(default)
        rows.append(
            SettingDoc(
                name=name,
                default=shown,
                help=info.description or "",
                secret=bool(extra.get("secret", False)),
            )
        )
    return rows


def render_settings_markdown() -> str:
    lines = [
        "# Configuration",
        "",
        "Ledger Bot reads its settings once at start from environment variables (or a `.env` file",
        "in the working directory). This page is generated by `ledger-bot config --markdown`;",
        "do not edit it by hand.",
        "",
        "| Variable | Default | Secret | Description |",
        "|---|---|---|---|",
    ]
    for row in settings_table():
        default = f"`{row.default}`" if row.default else "(unset)"
        secret = "yes" if row.secret else ""
        lines.append(f"| `{row.name}` | {default} | {secret} | {row.help} |")
    return "\n".join(lines) + "\n"
