"""OpenAI-compatible Chat Completions through the official ``openai`` SDK (extra ``openai``).

One base URL covers OpenAI, Azure OpenAI's v1 endpoint, vLLM, Ollama, llama.cpp's server and
LM Studio. The SDK retries 429 (honouring ``Retry-After``) and 5xx with backoff.
"""

from __future__ import annotations

import openai
from openai.types.chat import ChatCompletionMessageParam

from ledger_bot.answering.prompt import Prompt
from ledger_bot.answering.providers import Completion, DeltaSink, completed, provider_error
from ledger_bot.secret_files import Secret
from ledger_bot.settings import Settings

# Local servers take any key; the SDK refuses to start without one.
_NO_KEY = "unused"


class OpenAIProvider:
    name = "openai"

    def __init__(self, settings: Settings, api_key: Secret) -> None:
        self.model = settings.llm_model or ""
        self._settings = settings
        self._api_key = api_key
        self._key_in_use: str | None = None
        self._client: openai.AsyncOpenAI | None = None

    def _current_client(self) -> openai.AsyncOpenAI:
        key = self._api_key.get() or _NO_KEY
        if self._client is None or key != self._key_in_use:  # first use, or a rotated key
            settings = self._settings
            self._client = openai.AsyncOpenAI(
                api_key=key,
                base_url=settings.llm_base_url,
                max_retries=settings.llm_max_retries,
                timeout=openai.Timeout(settings.llm_timeout, connect=settings.llm_connect_timeout),
            )
            self._key_in_use = key
        return self._client

    async def complete(self, prompt: Prompt, on_delta: DeltaSink) -> Completion:
        messages: list[ChatCompletionMessageParam] = [{"role": "system", "content": prompt.system}]
        for role, content in prompt.messages:
            if role == "assistant":
                messages.append({"role": "assistant", "content": content})
            else:
                messages.append({"role": "user", "content": content})
        parts: list[str] = []
        input_tokens = output_tokens = 0
        model = self.model
        try:
            stream = await self._current_client().chat.completions.create(
                model=self.model,
                messages=messages,
                max_tokens=self._settings.llm_max_output_tokens,
                temperature=self._settings.llm_temperature,
                stream=True,
                stream_options={"include_usage": True},
            )
            async with stream:
                async for chunk in stream:
                    model = chunk.model or model
                    if chunk.usage is not None:
                        input_tokens = chunk.usage.prompt_tokens
                        output_tokens = chunk.usage.completion_tokens
                    for choice in chunk.choices:
                        if choice.delta.content:
                            parts.append(choice.delta.content)
                            on_delta(choice.delta.content)
        except Exception as exc:
            raise provider_error(exc, openai, openai.OpenAIError) from exc
        return completed(parts, input_tokens, output_tokens, model)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
