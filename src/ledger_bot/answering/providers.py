"""Language-model providers behind one small interface, and the choice between them.

A provider sends a :class:`~ledger_bot.answering.prompt.Prompt` and streams the reply: it
calls ``on_delta`` with each piece of text as it arrives and returns the whole completion with
its token counts. Every failure is raised as :class:`ProviderError` with a short ``reason``
(``rate_limited``, ``server_error``, ``timeout``, ``unreachable``, ``rejected``, ``bad_reply``)
that metrics and the fallback note use. Each SDK is imported only by its own module, and a
missing one raises MissingExtra naming the extra to install.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Protocol

from ledger_bot.answering.prompt import Prompt
from ledger_bot.errors import ConfigError, LedgerBotError, MissingExtra
from ledger_bot.secret_files import Secret
from ledger_bot.settings import Settings

DeltaSink = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    input_tokens: int
    output_tokens: int
    model: str


class ProviderError(LedgerBotError):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


class ChatProvider(Protocol):
    name: str
    model: str

    async def complete(self, prompt: Prompt, on_delta: DeltaSink) -> Completion:
        """Stream the model's reply to ``prompt``; raises ProviderError."""
        ...

    async def close(self) -> None: ...


def classify_status(status: int) -> str:
    if status == 429:
        return "rate_limited"
    if status >= 500 or status < 400:  # < 400: an error event inside a 200 stream
        return "server_error"
    return "rejected"


def provider_error(exc: Exception, sdk: ModuleType, base: type[Exception]) -> ProviderError:
    """``exc``, raised while calling a provider through ``sdk`` (the ``openai`` or ``anthropic``
    module, which share their error classes' names; ``base`` is the SDK's root error), as a
    ProviderError with its reason."""
    if isinstance(exc, sdk.APIStatusError):
        return ProviderError(classify_status(exc.status_code), str(exc))
    if isinstance(exc, sdk.APITimeoutError):
        return ProviderError("timeout", str(exc))
    if isinstance(exc, sdk.APIConnectionError):
        return ProviderError("unreachable", str(exc))
    if isinstance(exc, (base, ValueError)):  # a reply the SDK cannot parse
        return ProviderError("bad_reply", str(exc))
    # The HTTP client's own errors, which the SDKs let through while a stream is read.
    return ProviderError(transport_reason(exc), f"{type(exc).__name__}: {exc}")


def completed(parts: list[str], input_tokens: int, output_tokens: int, model: str) -> Completion:
    """The streamed ``parts`` as a Completion; an empty reply is a bad one."""
    text = "".join(parts)
    if not text.strip():
        raise ProviderError("bad_reply", "the model returned no text")
    return Completion(text, input_tokens, output_tokens, model)


def transport_reason(exc: BaseException) -> str:
    """The reason of an error the SDK let through unwrapped (the HTTP client's own, raised
    while a stream is read): a read timeout, or a broken connection."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    return "timeout" if any("Timeout" in name for name in names) else "unreachable"


def api_key_secret(settings: Settings) -> Secret:
    """The provider's key: LEDGER_BOT_LLM_API_KEY(_FILE), else the SDK's usual variable."""
    fallback = (
        settings.openai_api_key if settings.llm_provider == "openai" else settings.anthropic_api_key
    )
    return Secret(
        "LEDGER_BOT_LLM_API_KEY", settings.llm_api_key or fallback, settings.llm_api_key_file
    )


def build_provider(settings: Settings) -> ChatProvider | None:
    """The provider the settings name, or None for ``none``."""
    if settings.llm_provider == "none":
        return None
    key = api_key_secret(settings)
    if settings.llm_provider == "openai":
        try:
            from ledger_bot.answering.openai_chat import OpenAIProvider
        except ImportError as exc:
            raise MissingExtra("LEDGER_BOT_LLM_PROVIDER=openai", "openai", "openai") from exc
        if not key.get() and settings.llm_base_url is None:
            raise ConfigError(
                "LEDGER_BOT_LLM_API_KEY: set the OpenAI API key (or OPENAI_API_KEY); local "
                "OpenAI-compatible servers need LEDGER_BOT_LLM_BASE_URL instead"
            )
        return OpenAIProvider(settings, key)
    try:
        from ledger_bot.answering.anthropic_messages import AnthropicProvider
    except ImportError as exc:
        raise MissingExtra("LEDGER_BOT_LLM_PROVIDER=anthropic", "anthropic", "anthropic") from exc
    if not key.get():
        raise ConfigError(
            "LEDGER_BOT_LLM_API_KEY: set the Anthropic API key (or ANTHROPIC_API_KEY)"
        )
    return AnthropicProvider(settings, key)
