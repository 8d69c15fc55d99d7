"""The Socket Mode WebSocket: tickets, hello, envelopes to one connection at a time, acks,
redelivery of unacknowledged envelopes, disconnect messages and dropped sockets."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, NamedTuple

from aiohttp import WSCloseCode, WSMsgType, web

from tests.slack_emulator.waiting import Signal

MAX_RETRIES = 3
CONNECT_WAIT = 5.0
CLOSE_AFTER_DISCONNECT = 0.1
SOCKET_CLOSE_TIMEOUT = 1.0
RESPONDING_TYPES = {"slash_commands"}
RESPONDING_INTERACTIONS = {"view_submission", "block_suggestion"}


class Delivery(NamedTuple):
    envelope_id: str
    retry_attempt: int
    connection_id: str


class Ack(NamedTuple):
    payload: dict[str, Any] | None
    at: float  # time.monotonic()


@dataclass
class _Connection:
    id: str
    ws: web.WebSocketResponse
    request: web.Request

    @property
    def is_open(self) -> bool:
        return not self.ws.closed


@dataclass
class _Envelope:
    envelope_id: str
    type: str
    payload: dict[str, Any]
    accepts_response_payload: bool
    retry_attempt: int = 0
    first_sent_at: float | None = None


class SocketModeServer:
    def __init__(self, *, app_id: str, redelivery_after: float | None, signal: Signal) -> None:
        self.base_url = ""  # ws://127.0.0.1:PORT, set once the server listens
        self.deliveries: list[Delivery] = []
        self.acks: dict[str, Ack] = {}
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.connection_count_total = 0
        self._app_id = app_id
        self._redelivery_after = redelivery_after
        self._signal = signal
        self._tickets: set[str] = set()
        self._connections: dict[str, _Connection] = {}
        self._envelopes: dict[str, _Envelope] = {}
        self._numbers = itertools.count(1)
        self._turn = 0
        self._tasks: set[asyncio.Task[None]] = set()

    # connections

    def issue_url(self) -> str:
        """What apps.connections.open answers: a URL with a fresh ticket."""
        ticket = str(uuid.uuid4())
        self._tickets.add(ticket)
        return f"{self.base_url}/link/?ticket={ticket}"

    @property
    def open_connections(self) -> int:
        return len(self._open())

    @property
    def connection_ids(self) -> list[str]:
        return [c.id for c in self._open()]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("ticket") not in self._tickets:
            return web.Response(status=403, text="invalid or missing ticket")
        ws = web.WebSocketResponse(timeout=SOCKET_CLOSE_TIMEOUT, autoping=True)
        await ws.prepare(request)
        connection = _Connection(f"conn-{next(self._numbers)}", ws, request)
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": self.open_connections + 1,
                "debug_info": {"host": "emulator", "approximate_connection_time": 18060},
                "connection_info": {"app_id": self._app_id},
            }
        )
        self._connections[connection.id] = connection
        self.connection_count_total += 1
        self._signal.fire()
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._on_text(connection, message.data)
                elif message.type == WSMsgType.ERROR:
                    break
        finally:
            self._connections.pop(connection.id, None)
            self._signal.fire()
        return ws

    async def wait_for_connections(self, count: int, *, timeout: float) -> None:
        await self._signal.wait_for(
            lambda: True if self.open_connections >= count else None,
            timeout=timeout,
            describe=lambda: f"{self.open_connections} of {count} connections open",
        )

    async def wait_for_connection_total(self, total: int, *, timeout: float) -> None:
        await self._signal.wait_for(
            lambda: True if self.connection_count_total >= total else None,
            timeout=timeout,
            describe=lambda: f"{self.connection_count_total} of {total} connections ever opened",
        )

    async def send_disconnect(self, reason: str, connection: str | None) -> None:
        for target in self._targets(connection):
            message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "emulator"}}
            await _send_quietly(target.ws, json.dumps(message))
            if reason in ("refresh_requested", "link_disabled"):
                self._spawn(self._close_later(target))

    async def drop_connections(self) -> None:
        """Cut every socket without a close frame, like a network failure."""
        for connection in list(self._connections.values()):
            self._connections.pop(connection.id, None)
            transport = connection.request.transport
            if transport is not None:
                transport.abort()
        self._signal.fire()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for connection in list(self._connections.values()):
            await connection.ws.close(code=WSCloseCode.GOING_AWAY, message=b"emulator stopped")

    # envelopes

    async def deliver(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool | None,
        connection: str | None,
    ) -> str:
        if accepts_response_payload is None:
            accepts_response_payload = envelope_type in RESPONDING_TYPES or (
                envelope_type == "interactive" and payload.get("type") in RESPONDING_INTERACTIONS
            )
        envelope = _Envelope(str(uuid.uuid4()), envelope_type, payload, accepts_response_payload)
        self._envelopes[envelope.envelope_id] = envelope
        await self._send(envelope, connection)
        if self._redelivery_after is not None:
            self._spawn(self._redeliver(envelope, self._redelivery_after))
        return envelope.envelope_id

    async def wait_for_ack(self, envelope_id: str, *, timeout: float) -> dict[str, Any] | None:
        ack = await self._signal.wait_for(
            lambda: self.acks.get(envelope_id),
            timeout=timeout,
            describe=lambda: f"no ack for {envelope_id}; acked: {sorted(self.acks)}",
        )
        return ack.payload

    def ack_latency(self, envelope_id: str) -> float:
        """Seconds from the first delivery of an envelope to its first ack."""
        envelope, ack = self._envelopes.get(envelope_id), self.acks.get(envelope_id)
        if envelope is None or envelope.first_sent_at is None or ack is None:
            raise LookupError(f"envelope {envelope_id} was not delivered and acked")
        return ack.at - envelope.first_sent_at

    async def _send(self, envelope: _Envelope, connection_id: str | None) -> None:
        connection = await self._signal.wait_for(
            lambda: self._next_connection(connection_id),
            timeout=CONNECT_WAIT,
            describe=lambda: f"no open Socket Mode connection for {envelope.envelope_id}",
        )
        message = {
            "envelope_id": envelope.envelope_id,
            "type": envelope.type,
            "payload": envelope.payload,
            "accepts_response_payload": envelope.accepts_response_payload,
            "retry_attempt": envelope.retry_attempt,
            "retry_reason": "timeout" if envelope.retry_attempt else "",
        }
        if envelope.first_sent_at is None:
            envelope.first_sent_at = time.monotonic()
        self.deliveries.append(
            Delivery(envelope.envelope_id, envelope.retry_attempt, connection.id)
        )
        self._signal.fire()
        await _send_quietly(connection.ws, json.dumps(message))

    async def _redeliver(self, envelope: _Envelope, after: float) -> None:
        while envelope.retry_attempt < MAX_RETRIES:
            await asyncio.sleep(after)
            if envelope.envelope_id in self.acks:
                return
            envelope.retry_attempt += 1
            try:
                await self._send(envelope, None)
            except TimeoutError:
                continue  # nobody connected; Slack tries again later

    def _on_text(self, connection: _Connection, data: str) -> None:
        try:
            message = json.loads(data)
        except json.JSONDecodeError:
            return
        if not isinstance(message, dict):
            return
        self.received.append((connection.id, message))
        envelope_id = message.get("envelope_id")
        if isinstance(envelope_id, str) and envelope_id not in self.acks:
            # the redelivery task sees the ack when it wakes; cancelling it mid-send could
            # cut a frame in half
            self.acks[envelope_id] = Ack(message.get("payload"), time.monotonic())
        self._signal.fire()

    def _open(self) -> list[_Connection]:
        return [c for c in self._connections.values() if c.is_open]

    def _next_connection(self, connection_id: str | None) -> _Connection | None:
        """Round robin over open connections, or the named one."""
        candidates = self._open()
        if connection_id is not None:
            return next((c for c in candidates if c.id == connection_id), None)
        if not candidates:
            return None
        self._turn += 1
        return candidates[(self._turn - 1) % len(candidates)]

    def _targets(self, connection: str | None) -> list[_Connection]:
        targets = [c for c in self._open() if connection is None or c.id == connection]
        if connection is not None and not targets:
            raise LookupError(f"no open connection {connection}; open: {self.connection_ids}")
        return targets

    async def _close_later(self, connection: _Connection) -> None:
        await asyncio.sleep(CLOSE_AFTER_DISCONNECT)
        await connection.ws.close(code=WSCloseCode.GOING_AWAY, message=b"disconnect")

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


async def _send_quietly(ws: web.WebSocketResponse, text: str) -> None:
    """Send unless the socket is already going away (redelivery covers the loss)."""
    if ws.closed:
        return
    with contextlib.suppress(ConnectionError, RuntimeError):
        await ws.send_str(text)
