"""``FakeOpenAI``: the Chat Completions API (JSON and SSE) for the real ``openai`` SDK."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from tests.fake_llm.common import Fault, RecordedRequest, Reply, StreamFrames, sse
from tests.fake_llm.server import FakeLLMServer

NO_KEY_MESSAGE = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header"
    " using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with"
    " blank username) if you're accessing the API from your browser and are prompted for a"
    " username. You can obtain an API key from https://platform.openai.com/account/api-keys."
)
ERRORS: dict[int, tuple[str, str | None, str]] = {
    # status: (type, code, message)
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("invalid_request_error", "unsupported_country_region_territory", "Forbidden."),
    404: ("invalid_request_error", "model_not_found", "The model does not exist."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests per min (RPM)."),
    500: (
        "server_error",
        None,
        "The server had an error while processing your request. Sorry about that!",
    ),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}
FINGERPRINT = "fp_fake0001"


class FakeOpenAI(FakeLLMServer):
    """Chat Completions at ``POST {base_url}/chat/completions``; ``base_url`` ends in ``/v1``.

    Wants ``Authorization: Bearer <key>`` (any key, or only ``api_key`` when given), a
    ``model`` and ``messages``; answers in the model the request named.
    """

    route = "/v1/chat/completions"
    head_waits_for_first_token = True

    def _base_url(self, origin: str) -> str:
        return f"{origin}/v1"

    def response_headers(self) -> dict[str, str]:
        return {"x-request-id": f"req_fake{len(self.requests):06d}", "openai-processing-ms": "1"}

    def error_body(
        self, status: int, message: str | None = None, *, code: str | None = None
    ) -> dict[str, Any]:
        kind, default_code, default_message = ERRORS.get(
            status, ("server_error" if status >= 500 else "invalid_request_error", None, "Error.")
        )
        return {
            "error": {
                "message": message or default_message,
                "type": kind,
                "param": None,
                "code": code or default_code,
            }
        }

    def error_response(
        self, status: int, message: str | None = None, headers: dict[str, str] | None = None
    ) -> web.Response:
        return self.json_response(self.error_body(status, message), status, **(headers or {}))

    def reject(self, request: RecordedRequest) -> web.Response | None:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            body = self.error_body(401, NO_KEY_MESSAGE)
            body["error"]["code"] = None
            return self.json_response(body, 401)
        if self.api_key is not None and key != self.api_key:
            shown = f"{key[:3]}*****{key[-4:]}" if len(key) > 8 else key
            message = (
                f"Incorrect API key provided: {shown}. You can find your API key at"
                " https://platform.openai.com/account/api-keys."
            )
            return self.error_response(401, message)
        if not isinstance(request.json, dict):
            return self.error_response(
                400,
                "We could not parse the JSON body of your request. (HINT: This likely means"
                " you aren't using your HTTP library correctly.)",
            )
        if not request.model:
            return self.error_response(400, "you must provide a model parameter")
        if not isinstance(request.json.get("messages"), list):
            body = self.error_body(
                400, "Missing required parameter: 'messages'.", code="missing_required_parameter"
            )
            body["error"]["param"] = "messages"
            return self.json_response(body, 400)
        return None

    def json_answer(self, reply: Reply, request: RecordedRequest) -> dict[str, Any]:
        return {
            "id": f"chatcmpl-fake{self.next_id():06d}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.model,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": reply.text,
                        "refusal": None,
                        "annotations": [],
                    },
                    "logprobs": None,
                    "finish_reason": _finish_reason(reply),
                }
            ],
            "usage": _usage(reply),
            "service_tier": "default",
            "system_fingerprint": FINGERPRINT,
        }

    def stream_frames(self, reply: Reply, request: RecordedRequest) -> StreamFrames:
        options = request.json.get("stream_options") or {}
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        base: dict[str, Any] = {
            "id": f"chatcmpl-fake{self.next_id():06d}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": request.model,
            "service_tier": "default",
            "system_fingerprint": FINGERPRINT,
        }

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            extra = {"usage": None} if include_usage else {}
            return sse({**base, "choices": [choice], **extra})

        tail = [chunk({}, _finish_reason(reply))]
        if include_usage:
            tail.append(sse({**base, "choices": [], "usage": _usage(reply)}))
        tail.append(sse("[DONE]"))
        return StreamFrames(
            head=[chunk({"role": "assistant", "content": "", "refusal": None})],
            deltas=[chunk({"content": piece}) for piece in reply.pieces],
            tail=tail,
        )

    def stream_error_frame(self, fault: Fault) -> bytes:
        return sse(self.error_body(fault.status, fault.message))

    def bad_json_frame(self) -> bytes:
        return b'data: {"id":"chatcmpl-broken","object":"chat.completion.chunk","choices":[{\n\n'


def _finish_reason(reply: Reply) -> str:
    return "length" if reply.truncated else "stop"


def _usage(reply: Reply) -> dict[str, Any]:
    return {
        "prompt_tokens": reply.input_tokens,
        "completion_tokens": reply.output_tokens,
        "total_tokens": reply.input_tokens + reply.output_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }
