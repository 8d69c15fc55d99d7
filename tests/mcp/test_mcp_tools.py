"""Every MCP tool, resource and prompt through the SDK's in-memory client, with bad input."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from mcp.client import Client

from ledger_bot.knowledge_base import SqliteKnowledgeBase
from ledger_bot.mcp_server import build_mcp_server
from ledger_bot.metrics import Metrics
from ledger_bot.service import LedgerBotService, build_answerer
from ledger_bot.settings import load_settings
from ledger_bot.state import SqliteStateStore

REVERSAL = "How do I reverse a posted journal entry?"


@pytest.fixture
async def service(sample_db: Path, tmp_path: Path) -> AsyncIterator[LedgerBotService]:
    settings = load_settings(db=sample_db, user_burst=3, user_rate_per_minute=0.001)
    state = SqliteStateStore(tmp_path / "state.db")
    await state.open()
    kb = SqliteKnowledgeBase.open(sample_db)
    metrics = Metrics()
    service = LedgerBotService(
        settings, kb, build_answerer(settings, kb, metrics), state=state, metrics=metrics
    )
    yield service
    await service.close()


@pytest.fixture
def client(service: LedgerBotService) -> InMemory:
    return InMemory(service)


class InMemory:
    """Calls through the SDK's in-memory client, one connection per call (the SDK's task
    groups must be entered and left in the same task, which a fixture cannot promise)."""

    def __init__(self, service: LedgerBotService) -> None:
        self._server = build_mcp_server(service)

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        async with Client(self._server) as client:
            return await client.call_tool(name, arguments)

    async def list_tools(self) -> Any:
        async with Client(self._server) as client:
            return await client.list_tools()

    async def list_resource_templates(self) -> Any:
        async with Client(self._server) as client:
            return await client.list_resource_templates()

    async def read_resource(self, uri: str) -> Any:
        async with Client(self._server) as client:
            return await client.read_resource(uri)

    async def get_prompt(self, name: str, arguments: dict[str, str]) -> Any:
        async with Client(self._server) as client:
            return await client.get_prompt(name, arguments)


def text_of(result: Any) -> str:
    return "\n".join(getattr(part, "text", "") for part in result.content)


async def test_tools_are_listed_read_only_with_titles_and_output_schemas(client: InMemory) -> None:
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert sorted(tools) == ["ask", "get_document", "list_sources", "search_knowledge"]
    for tool in tools.values():
        assert tool.title and tool.description and tool.output_schema
        assert tool.annotations is not None and tool.annotations.read_only_hint is True


async def test_search_returns_hits_with_source_title_url_and_snippet(client: InMemory) -> None:
    result = await client.call_tool("search_knowledge", {"query": "reverse journal entry"})
    hits = result.structured_content["hits"]
    assert result.is_error is False
    assert hits[0]["source"] == "api/reversals.md"
    assert hits[0]["url"] == "https://wiki.example.com/bor-write/api/reversals"
    assert len(hits) == 5 and all(len(hit["snippet"]) <= 500 for hit in hits)
    assert "api/reversals.md" in text_of(result)  # the same content as text


async def test_search_can_be_restricted_to_a_source_prefix(client: InMemory) -> None:
    result = await client.call_tool(
        "search_knowledge", {"query": "rollback", "source_prefix": "runbooks/"}
    )
    sources = {hit["source"] for hit in result.structured_content["hits"]}
    assert sources and all(source.startswith("runbooks/") for source in sources)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"query": "   "}, "query is empty"),
        ({"query": "x", "limit": 0}, "limit must be between 1 and 20"),
        ({"query": "x", "limit": 500}, "limit must be between 1 and 20"),
    ],
)
async def test_bad_search_gets_a_clear_tool_error(
    client: InMemory, arguments: dict[str, Any], message: str
) -> None:
    result = await client.call_tool("search_knowledge", arguments)
    assert result.is_error is True
    assert message in text_of(result)


async def test_ask_returns_the_bots_answer_with_citations(client: InMemory) -> None:
    result = await client.call_tool("ask", {"question": REVERSAL})
    answer = result.structured_content
    assert (answer["answered"], answer["mode"]) == (True, "extractive")
    assert answer["citations"][0]["source"] == "api/reversals.md"


async def test_unanswerable_question_says_so_and_suggests_sources(client: InMemory) -> None:
    result = await client.call_tool("ask", {"question": "what is the vacation policy?"})
    answer = result.structured_content
    assert answer["answered"] is False
    assert answer["answer"].startswith("I couldn't find an answer")


async def test_questions_asked_over_mcp_are_logged_and_counted_as_mcp(
    client: InMemory, service: LedgerBotService
) -> None:
    await client.call_tool("ask", {"question": REVERSAL})
    assert service.state is not None
    [logged] = await service.state.questions_since(datetime.now(UTC) - timedelta(hours=1))
    assert (logged.surface, logged.outcome) == ("mcp", "answered")
    assert logged.channel == logged.user
    assert logged.user.startswith("mcp-local")
    counted = service.metrics.registry.get_sample_value(
        "ledger_bot_questions_total", {"surface": "mcp", "outcome": "answered"}
    )
    assert counted == 1


async def test_mcp_questions_are_rate_limited_like_slack_questions(client: InMemory) -> None:
    for _ in range(3):
        await client.call_tool("ask", {"question": REVERSAL})
    result = await client.call_tool("ask", {"question": REVERSAL})
    assert result.is_error is True
    assert "try again in" in text_of(result)


async def test_empty_question_gets_a_tool_error(client: InMemory) -> None:
    result = await client.call_tool("ask", {"question": ""})
    assert result.is_error is True and "question is empty" in text_of(result)


async def test_secrets_in_a_question_are_redacted_before_they_are_logged(
    client: InMemory, service: LedgerBotService
) -> None:
    await client.call_tool("ask", {"question": "why does xoxb-1234567890-abcdefghijkl fail?"})
    assert service.state is not None
    [logged] = await service.state.questions_since(datetime.now(UTC) - timedelta(hours=1))
    assert "xoxb-1234567890" not in logged.question


async def test_get_document_pages_through_a_document(client: InMemory) -> None:
    first = await client.call_tool(
        "get_document", {"source": "api/reversals.md", "max_chars": 1000}
    )
    page = first.structured_content
    assert (page["start"], len(page["text"]), page["next_start"]) == (0, 1000, 1000)
    second = await client.call_tool(
        "get_document", {"source": "api/reversals.md", "start": 1000, "max_chars": 100_000}
    )
    rest = second.structured_content
    assert rest["start"] == 1000
    assert rest["next_start"] is None or len(second.content[0].text) < 8000
    assert len(text_of(second)) < 8000


async def test_unknown_document_gets_a_tool_error_suggesting_close_sources(
    client: InMemory,
) -> None:
    result = await client.call_tool("get_document", {"source": "api/reversal.md"})
    assert result.is_error is True
    assert "no document with source 'api/reversal.md'" in text_of(result)
    assert "api/reversals.md" in text_of(result)


@pytest.mark.parametrize("source", ["", "/", "..."])
async def test_source_with_no_words_gets_a_tool_error_naming_it(
    client: InMemory, source: str
) -> None:
    result = await client.call_tool("get_document", {"source": source})
    assert result.is_error is True
    assert f"no document with source {source!r}; closest: none." in text_of(result)


async def test_negative_offset_gets_a_tool_error(client: InMemory) -> None:
    result = await client.call_tool("get_document", {"source": "faq.md", "start": -1})
    assert result.is_error is True and "start must be 0 or more" in text_of(result)


async def test_list_sources_pages_with_a_cursor(client: InMemory) -> None:
    first = (await client.call_tool("list_sources", {})).structured_content
    assert len(first["sources"]) == 24 and first["next_cursor"] is None
    runbooks = (await client.call_tool("list_sources", {"prefix": "runbooks/"})).structured_content
    assert runbooks["sources"] and all(
        s["source"].startswith("runbooks/") for s in runbooks["sources"]
    )


async def test_list_sources_after_a_cursor_continues_after_it(client: InMemory) -> None:
    page = (await client.call_tool("list_sources", {"cursor": "faq.md"})).structured_content
    assert page["sources"][0]["source"] > "faq.md"


async def test_documents_are_resources(client: InMemory) -> None:
    templates = (await client.list_resource_templates()).resource_templates
    assert [t.uri_template for t in templates] == ["kb://docs/{+source}"]
    read = await client.read_resource("kb://docs/api/reversals.md")
    assert read.contents[0].text.startswith("# Reversing a posted journal entry")


async def test_unknown_document_resource_is_not_found_with_a_clear_message(
    client: InMemory,
) -> None:
    with pytest.raises(ExceptionGroup) as raised:  # the client's task group re-raises it
        await client.read_resource("kb://docs/nope.md")
    assert raised.group_contains(Exception, match="no document with source 'nope.md'", depth=None)


async def test_ask_team_prompt_carries_the_question(client: InMemory) -> None:
    prompt = await client.get_prompt("ask_team", {"question": "who approves reversals?"})
    text = prompt.messages[0].content.text
    assert "who approves reversals?" in text and "`ask`" in text
