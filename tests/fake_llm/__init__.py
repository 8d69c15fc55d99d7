"""Local fake LLM servers speaking the real OpenAI and Anthropic wire formats to the real SDKs."""

from tests.fake_llm.anthropic_server import FakeAnthropic
from tests.fake_llm.common import (
    DEFAULT_TEXT,
    Disconnect,
    Fault,
    MalformedStream,
    RecordedRequest,
    Reply,
    Responder,
    Scripted,
    Stall,
    split_into_chunks,
)
from tests.fake_llm.openai_server import FakeOpenAI
from tests.fake_llm.server import FakeLLMServer

__all__ = [
    "DEFAULT_TEXT",
    "Disconnect",
    "FakeAnthropic",
    "FakeLLMServer",
    "FakeOpenAI",
    "Fault",
    "MalformedStream",
    "RecordedRequest",
    "Reply",
    "Responder",
    "Scripted",
    "Stall",
    "split_into_chunks",
]
