"""MCP over stdio (``ledger-bot mcp`` as a subprocess) and over streamable HTTP at ``/mcp`` on
the serving port, behind team bearer tokens."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx
import httpx2
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from ledger_bot.errors import ConfigError
from ledger_bot.knowledge_base import SqliteKnowledgeBase
from ledger_bot.server import BotProcess
from ledger_bot.service import LedgerBotService, build_answerer
from ledger_bot.settings import Settings, load_settings
from ledger_bot.state import SqliteStateStore
from tests.conftest import child_environment

TOKENS = "alice-token-1,ci-token-2"


async def test_stdio_server_answers_tools_and_logs_only_to_stderr(sample_db: Path) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "ledger_bot", "mcp", "--db", str(sample_db)],
        env=child_environment(LEDGER_BOT_LOG_LEVEL="INFO"),
    )
    async with Client(params) as client:
        tools = await client.list_tools()
        result = await client.call_tool("ask", {"question": "what does exceeds_credits mean?"})
    assert len(tools.tools) == 4
    assert result.is_error is False
    assert result.structured_content["answered"] is True


async def test_stdio_server_without_an_index_says_how_to_make_one(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ledger_bot",
        "mcp",
        "--db",
        str(tmp_path / "missing.db"),
        env=child_environment(),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(b""), 30)
    assert process.returncode == 1
    assert stdout == b""
    assert b"ledger-bot index" in stderr


# -- HTTP ------------------------------------------------------------------------------------


async def start_serve(settings: Settings, sample_db: Path, tmp_path: Path) -> BotProcess:
    state = SqliteStateStore(tmp_path / "state.db")
    await state.open()
    kb = SqliteKnowledgeBase.open(sample_db)
    service = LedgerBotService(settings, kb, build_answerer(settings, kb), state=state)
    process = BotProcess(settings, console=False, service=service)
    process.task = asyncio.create_task(process.run())  # type: ignore[attr-defined]
    await asyncio.wait_for(process.started.wait(), 10)
    return process


async def stop(process: BotProcess) -> None:
    process.stop.set()
    await asyncio.wait_for(process.task, 10)  # type: ignore[attr-defined]


def mcp_settings(sample_db: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "db": sample_db,
        "host": "127.0.0.1",
        "port": 0,
        "mcp_enabled": True,
        "mcp_tokens": TOKENS,
    }
    values.update(overrides)
    return load_settings(**values)


async def test_http_with_a_team_token_lists_and_calls_tools(
    sample_db: Path, tmp_path: Path
) -> None:
    process = await start_serve(mcp_settings(sample_db), sample_db, tmp_path)
    url = f"http://127.0.0.1:{process.port}/mcp"
    try:
        headers = {"Authorization": "Bearer ci-token-2"}
        async with (
            httpx2.AsyncClient(headers=headers) as http,
            Client(streamable_http_client(url, http_client=http)) as client,
        ):
            tools = await client.list_tools()
            result = await client.call_tool("search_knowledge", {"query": "idempotency"})
    finally:
        await stop(process)
    assert len(tools.tools) == 4
    assert result.structured_content["hits"][0]["source"].startswith("api/idempotency")


@pytest.mark.parametrize(
    "authorization", [None, "Bearer not-a-team-token", "Basic YWxpY2U6c2VjcmV0", "Bearer"]
)
async def test_http_without_a_valid_token_gets_401(
    sample_db: Path, tmp_path: Path, authorization: str | None
) -> None:
    process = await start_serve(mcp_settings(sample_db), sample_db, tmp_path)
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    if authorization is not None:
        headers["Authorization"] = authorization
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    try:
        async with httpx.AsyncClient() as http:
            response = await http.post(
                f"http://127.0.0.1:{process.port}/mcp", json=body, headers=headers
            )
    finally:
        await stop(process)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="ledger-bot"'


async def test_tokens_file_is_read_one_per_line_and_reread_when_it_changes(
    sample_db: Path, tmp_path: Path
) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text("first-token\n")
    settings = mcp_settings(sample_db, mcp_tokens=None, mcp_tokens_file=tokens)
    process = await start_serve(settings, sample_db, tmp_path)
    url = f"http://127.0.0.1:{process.port}/mcp"
    body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    accept = {"Accept": "application/json, text/event-stream"}
    try:
        async with httpx.AsyncClient() as http:
            before = await http.post(
                url, json=body, headers={**accept, "Authorization": "Bearer second-token"}
            )
            replacement = tmp_path / "tokens.new"
            replacement.write_text("first-token\nsecond-token\n")
            replacement.replace(tokens)
            after = await http.post(
                url, json=body, headers={**accept, "Authorization": "Bearer second-token"}
            )
    finally:
        await stop(process)
    assert before.status_code == 401
    assert after.status_code != 401


async def test_mcp_over_http_without_any_token_refuses_to_start(sample_db: Path) -> None:
    settings = mcp_settings(sample_db, mcp_tokens=None)
    kb = SqliteKnowledgeBase.open(sample_db)
    service = LedgerBotService(settings, kb, build_answerer(settings, kb))
    with pytest.raises(ConfigError, match="LEDGER_BOT_MCP_TOKENS"):
        await BotProcess(settings, console=False, service=service).run()
