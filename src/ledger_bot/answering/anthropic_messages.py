"""The Anthropic Messages API through the official ``anthropic`` SDK (extra ``anthropic``).

Current Claude models take no sampling parameters, so LEDGER_BOT_LLM_TEMPERATURE does not
apply here.

The SDK retries 429, 529 (overloaded) and 5xx with backoff, honouring ``retry-after``.
"""

from __future__ import annotations

import anthropic
from anthropic.types import MessageParam

from ledger_bot.answering.prompt import Prompt
from ledger_bot.answering.providers import Completion, DeltaSink, completed, provider_error
from ledger_bot.secret_files import Secret
from ledger_bot.settings import Settings


class AnthropicProvider:
    name = "anthropic"

    def __init__(self, settings: Settings, api_key: Secret) -> None:
        self.model = settings.llm_model or ""
        self._settings = settings
        self._api_key = api_key
        self._key_in_use: str | None = None
        self._client: anthropic.AsyncAnthropic | None = None

    def _current_client(self) -> anthropic.AsyncAnthropic:
        key = self._api_key.require()
        if self._client is None or key != self._key_in_use:  # first use, or a rotated key
            settings = self._settings
            self._client = anthropic.AsyncAnthropic(
                api_key=key,
                base_url=settings.llm_base_url,
                max_retries=settings.llm_max_retries,
                timeout=anthropic.Timeout(
                    settings.llm_timeout, connect=settings.llm_connect_timeout
                ),
            )
            self._key_in_use = key
        return self._client

    async def complete(self, prompt: Prompt, on_delta: DeltaSink) -> Completion:
        messages: list[MessageParam] = []
        for role, content in prompt.messages:
            if role == "assistant":
                messages.append({"role": "assistant", "content": content})
            else:
                messages.append({"role": "user", "content": content})
        parts: list[str] = []
        try:
            async with self._current_client().messages.stream(
                model=self.model,
                system=prompt.system,
                messages=messages,
                max_tokens=self._settings.llm_max_output_tokens,
            ) as stream:
                async for text in stream.text_stream:
                    parts.append(text)
                    on_delta(text)
                final = await stream.get_final_message()
        except Exception as exc:
            raise provider_error(exc, anthropic, anthropic.AnthropicError) from exc
        usage = final.usage
        return completed(parts, usage.input_tokens, usage.output_tokens, final.model or self.model)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
