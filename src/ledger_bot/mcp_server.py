"""The knowledge base over the Model Context Protocol, for engineers' AI assistants.

The same service as the Slack bot answers here: ``search_knowledge`` and ``get_document`` read
the knowledge base; ``ask`` puts a question through the whole pipeline (validation,
redaction, rate limits, the question log, metrics, surface ``mcp``) and returns the bot's
answer with citations; ``list_sources`` pages through what the knowledge base holds. Documents
are also resources (``kb://docs/{source}``), and ``ask_team`` is a prompt.

Every tool is read-only, returns structured output together with the same content as text,
and keeps its output under ``LEDGER_BOT_MCP_MAX_OUTPUT_CHARS`` with a hint on how to get more.
Served over stdio by ``ledger-bot mcp`` and over streamable HTTP at ``/mcp`` by ``serve``.
"""

from __future__ import annotations

import asyncio
import hashlib

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from ledger_bot import __version__
from ledger_bot.console import local_user
from ledger_bot.documents import Citation
from ledger_bot.errors import InvalidQuestion
from ledger_bot.service import LedgerBotService, QuestionRequest

INSTRUCTIONS = """\
Ledger Bot serves your team's own knowledge base: runbooks, architecture notes, API references \
and onboarding docs. Use it for questions about this team's systems, procedures and errors, not \
for general knowledge. Start with `ask` for a direct, cited answer, or `search_knowledge` to see \
the passages; follow up with `get_document` on a source to read it in full. Cite the returned \
URLs when you use what you found."""

READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)
SNIPPET_CHARS = 500
DEFAULT_PAGE_CHARS = 6000
SOURCES_PAGE = 50


class Hit(BaseModel):
    source: str = Field(description="Source id of the document; pass it to get_document.")
    title: str
    heading: str = Field(description="Section of the document the passage is under.")
    url: str | None
    snippet: str
    score: float


class SearchResult(BaseModel):
    query: str
    hits: list[Hit]
    hint: str | None = Field(default=None, description="How to get more, when output was cut.")


class Source(BaseModel):
    source: str
    title: str
    url: str | None


class AskResult(BaseModel):
    question: str
    answered: bool = Field(description="False when the knowledge base does not hold the answer.")
    answer: str
    mode: str = Field(description="llm (written by a language model) or extractive (quoted).")
    citations: list[Source] = Field(description="Documents cited as [1], [2], … in the answer.")
    suggestions: list[Source] = Field(description="Closest documents when not answered.")
    notes: list[str] = []
    hint: str | None = None


class DocumentPage(BaseModel):
    source: str
    title: str
    url: str | None
    start: int
    text: str
    total_chars: int
    next_start: int | None = Field(description="Pass as start to read on; null at the end.")


class SourcePage(BaseModel):
    sources: list[Source]
    next_cursor: str | None = Field(
        description="Pass as cursor for the next page; null at the end."
    )


def _source(citation: Citation) -> Source:
    return Source(source=citation.source, title=citation.title, url=citation.url)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"


def asker_of(ctx: Context | None) -> str:
    """Who is asking over MCP, for rate limits and the question log: a stable, non-secret id
    derived from the bearer token on HTTP, the local user on stdio."""
    headers = ctx.headers if ctx is not None else None
    authorization = (headers or {}).get("authorization", "")
    if authorization.lower().startswith("bearer "):
        digest = hashlib.sha256(authorization[7:].strip().encode()).hexdigest()[:12]
        return f"mcp-token-{digest}"
    user = local_user("")
    return f"mcp-local-{user}" if user else "mcp-local"


def build_mcp_server(service: LedgerBotService) -> MCPServer:
    """The MCP server over ``service``; the same instance serves stdio or HTTP."""
    settings = service.settings
    max_output = settings.mcp_max_output_chars
    knowledge_base = service.knowledge_base
    server: MCPServer = MCPServer(
        name="ledger-bot",
        title="Ledger Bot knowledge base",
        instructions=INSTRUCTIONS,
        version=__version__,
    )

    @server.tool(
        name="search_knowledge",
        title="Search the team knowledge base",
        description=(
            "Full-text search of the team's knowledge base. Returns the best passages with "
            "their source id, title, section, URL, a snippet and a score. Use it to find where "
            "something is documented; then call get_document(source) to read a document. "
            "`limit` is 1–20 (default 5); `source_prefix` restricts to sources under a folder, "
            "e.g. 'runbooks/'."
        ),
        annotations=READ_ONLY,
    )
    async def search_knowledge(
        query: str, limit: int = 5, source_prefix: str | None = None
    ) -> SearchResult:
        if not query.strip():
            raise ToolError("query is empty: pass the words to search for")
        if not 1 <= limit <= 20:
            raise ToolError(f"limit must be between 1 and 20, got {limit}")
        try:
            found = await service.search(query, limit, source_prefix or None)
        except InvalidQuestion as exc:
            raise ToolError(str(exc)) from None
        hits = [
            Hit(
                source=hit.source,
                title=hit.title,
                heading=hit.heading,
                url=hit.url,
                snippet=_clip(hit.text, SNIPPET_CHARS),
                score=round(hit.score, 4),
            )
            for hit in found
        ]
        result = SearchResult(query=query, hits=hits)
        while len(result.model_dump_json()) > max_output and len(result.hits) > 1:
            result.hits.pop()
            result.hint = (
                f"Output was cut to {len(result.hits)} hits; call get_document(source) to read "
                "one in full, or search with a narrower query."
            )
        return result

    @server.tool(
        name="ask",
        title="Ask the team knowledge base",
        description=(
            "Ask a question in plain language and get the team bot's answer, grounded in the "
            "knowledge base with numbered citations (written by a language model when one is "
            "configured, quoted from the documents otherwise). `answered` is false when the "
            "knowledge base does not hold the answer; `suggestions` then lists the closest "
            "documents. Questions count toward the asker's rate limit."
        ),
        annotations=READ_ONLY,
    )
    async def ask(question: str, ctx: Context) -> AskResult:
        if not question.strip():
            raise ToolError("question is empty: pass the question to answer")
        asker = asker_of(ctx)
        # Each MCP client is its own conversation: the channel limit applies per client, not
        # to all of them together.
        outcome = await service.handle(
            QuestionRequest(text=question, user=asker, channel=asker, surface="mcp")
        )
        if outcome.answer is None:  # rejected, rate limited or failed: say why, as an error
            raise ToolError(outcome.message)
        answer = outcome.answer
        result = AskResult(
            question=question,
            answered=answer.answered,
            answer=answer.text,
            mode=answer.mode,
            citations=[_source(c) for c in answer.citations],
            suggestions=[_source(c) for c in answer.suggestions],
            notes=list(outcome.notes),
        )
        overflow = len(result.model_dump_json()) - max_output
        if overflow > 0:
            result.answer = _clip(answer.text, max(200, len(answer.text) - overflow - 200))
            result.hint = "The answer was cut; call get_document on a cited source to read more."
        return result

    async def read_page(source: str, start: int, max_chars: int) -> DocumentPage:
        if start < 0:
            raise ToolError(f"start must be 0 or more, got {start}")
        if max_chars < 1:
            raise ToolError(f"max_chars must be at least 1, got {max_chars}")
        document = await asyncio.to_thread(knowledge_base.get_document, source)
        if document is None:
            try:
                close = await service.search(source.replace("/", " ").replace(".", " "), 3)
            except InvalidQuestion:  # nothing to search for in it: "", "/", "…"
                close = []
            names = ", ".join(hit.source for hit in close) or "none"
            raise ToolError(
                f"no document with source {source!r}; closest: {names}. "
                "list_sources or search_knowledge give valid sources."
            )
        size = min(max_chars, max_output - 600)  # room for the other fields of the output
        end = min(len(document.text), start + size)
        return DocumentPage(
            source=document.source,
            title=document.title,
            url=document.url,
            start=start,
            text=document.text[start:end],
            total_chars=len(document.text),
            next_start=end if end < len(document.text) else None,
        )

    @server.tool(
        name="get_document",
        title="Read a document of the knowledge base",
        description=(
            "The text of one document by its source id (from search_knowledge, ask or "
            "list_sources), a page at a time: `start` is a character offset (default 0) and "
            "`max_chars` the page size. When `next_start` is not null, call again with "
            "start=next_start to read on."
        ),
        annotations=READ_ONLY,
    )
    async def get_document(
        source: str, start: int = 0, max_chars: int = DEFAULT_PAGE_CHARS
    ) -> DocumentPage:
        return await read_page(source, start, max_chars)

    @server.tool(
        name="list_sources",
        title="List the documents of the knowledge base",
        description=(
            "Source ids, titles and URLs of the documents in the knowledge base, in id order, "
            f"{SOURCES_PAGE} at a time. `prefix` restricts to a folder such as 'runbooks/'; "
            "pass `next_cursor` back as `cursor` for the next page."
        ),
        annotations=READ_ONLY,
    )
    async def list_sources(prefix: str | None = None, cursor: str | None = None) -> SourcePage:
        rows = await asyncio.to_thread(
            knowledge_base.list_sources, prefix or None, cursor or None, SOURCES_PAGE + 1
        )
        more = len(rows) > SOURCES_PAGE
        rows = rows[:SOURCES_PAGE]
        return SourcePage(
            sources=[Source(source=r.source, title=r.title, url=r.url) for r in rows],
            next_cursor=rows[-1].source if more and rows else None,
        )

    @server.resource(
        "kb://docs/{+source}",
        name="document",
        title="A knowledge-base document",
        description="The full text of one document, by source id (e.g. kb://docs/runbooks/on-call.md).",
        mime_type="text/markdown",
    )
    async def document_resource(source: str) -> str:
        document = await asyncio.to_thread(knowledge_base.get_document, source)
        if document is None:
            raise ResourceNotFoundError(
                f"no document with source {source!r}; list_sources gives valid sources"
            )
        return f"# {document.title}\n\n{document.text}"

    @server.prompt(
        name="ask_team",
        title="Ask the team knowledge base",
        description="Answer a question from the team's knowledge base, citing its documents.",
    )
    def ask_team(question: str) -> str:
        return (
            "Answer the following question using the Ledger Bot tools: call `ask` first; if the "
            "answer is incomplete, use `search_knowledge` and `get_document` to read the sources. "
            "Answer only from what the knowledge base says, cite the document URLs you used, and "
            "say plainly if the knowledge base does not cover it.\n\n"
            f"Question: {question}"
        )

    return server
