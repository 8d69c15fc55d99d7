"""``FakeAnthropic``: the Messages API (JSON and SSE) for the real ``anthropic`` SDK."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tests.fake_llm.common import Fault, RecordedRequest, Reply, StreamFrames, sse
from tests.fake_llm.server import FakeLLMServer

ERRORS: dict[int, tuple[str, str]] = {
    # status: (error type, message)
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    402: ("billing_error", "Your credit balance is too low to access the Anthropic API."),
    403: ("permission_error", "Your API key does not have permission to use this resource."),
    404: ("not_found_error", "Not found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of requests has exceeded your per-minute rate limit."),
    500: ("api_error", "Internal server error"),
    504: ("timeout_error", "Request timed out."),
    529: ("overloaded_error", "Overloaded"),
}
REQUIRED_FIELDS = ("max_tokens", "messages", "model")


class FakeAnthropic(FakeLLMServer):
    """Messages at ``POST {base_url}/v1/messages``; ``base_url`` has no ``/v1``.

    Wants a key (``x-api-key``, or ``Authorization: Bearer``, which is how anthropic 2.x sends
    ``api_key``; any key, or only ``api_key`` when given), an ``anthropic-version`` header,
    ``model``, ``messages`` and ``max_tokens``; answers in the model the request named.
    """

    route = "/v1/messages"
    head_waits_for_first_token = False

    def response_headers(self) -> dict[str, str]:
        return {"request-id": self._request_id()}

    def _request_id(self) -> str:
        return f"req_fake{len(self.requests):06d}"

    def error_body(self, status: int, message: str | None = None) -> dict[str, Any]:
        kind, default_message = ERRORS.get(
            status, ("api_error" if status >= 500 else "invalid_request_error", "Error.")
        )
        return {
            "type": "error",
            "error": {"type": kind, "message": message or default_message},
            "request_id": self._request_id(),
        }

    def error_response(
        self, status: int, message: str | None = None, headers: dict[str, str] | None = None
    ) -> web.Response:
        return self.json_response(self.error_body(status, message), status, **(headers or {}))

    def reject(self, request: RecordedRequest) -> web.Response | None:
        headers = request.headers
        scheme, _, bearer = headers.get("authorization", "").partition(" ")
        key = headers.get("x-api-key") or (bearer.strip() if scheme.lower() == "bearer" else "")
        if not key:
            return self.error_response(401, "x-api-key header is required")
        if self.api_key is not None and key != self.api_key:
            return self.error_response(401, "invalid x-api-key")
        if not headers.get("anthropic-version"):
            return self.error_response(400, "anthropic-version: header is required")
        if not isinstance(request.json, dict):
            return self.error_response(400, "There was an issue with the request body: not JSON")
        for name in REQUIRED_FIELDS:
            if name not in request.json:
                return self.error_response(400, f"{name}: Field required")
        return None

    def _message(self, reply: Reply | None, request: RecordedRequest) -> dict[str, Any]:
        """The message object: whole (``reply``), or as ``message_start`` carries it."""
        return {
            "id": f"msg_fake{self.next_id():06d}",
            "type": "message",
            "role": "assistant",
            "model": request.model,
            "content": [{"type": "text", "text": reply.text}] if reply is not None else [],
            "stop_reason": _stop_reason(reply) if reply is not None else None,
            "stop_sequence": None,
            "usage": {
                "input_tokens": reply.input_tokens if reply is not None else 0,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": reply.output_tokens if reply is not None else 1,
                "service_tier": "standard",
            },
        }

    def json_answer(self, reply: Reply, request: RecordedRequest) -> dict[str, Any]:
        return self._message(reply, request)

    def stream_frames(self, reply: Reply, request: RecordedRequest) -> StreamFrames:
        start = self._message(None, request)
        start["usage"]["input_tokens"] = reply.input_tokens
        return StreamFrames(
            head=[
                sse({"type": "message_start", "message": start}, "message_start"),
                sse(
                    {
                        "type": "content_block_start",
                        "index": 0,
                        "content_block": {"type": "text", "text": ""},
                    },
                    "content_block_start",
                ),
                sse({"type": "ping"}, "ping"),
            ],
            deltas=[
                sse(
                    {
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "text_delta", "text": piece},
                    },
                    "content_block_delta",
                )
                for piece in reply.pieces
            ],
            tail=[
                sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
                sse(
                    {
                        "type": "message_delta",
                        "delta": {"stop_reason": _stop_reason(reply), "stop_sequence": None},
                        "usage": {"output_tokens": reply.output_tokens},
                    },
                    "message_delta",
                ),
                sse({"type": "message_stop"}, "message_stop"),
            ],
        )

    def stream_error_frame(self, fault: Fault) -> bytes:
        return sse(self.error_body(fault.status, fault.message), "error")

    def bad_json_frame(self) -> bytes:
        return b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,\n\n'


def _stop_reason(reply: Reply) -> str:
    return "max_tokens" if reply.truncated else "end_turn"
