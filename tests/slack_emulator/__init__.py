"""A local Slack (Web API, Socket Mode, response URLs) for tests with the real Slack SDKs."""

from tests.slack_emulator.emulator import SlackEmulator
from tests.slack_emulator.events import AppIdentity, rich_text_blocks
from tests.slack_emulator.http_mode import encode_request, post_to_app, sign_request
from tests.slack_emulator.response_urls import ResponsePost
from tests.slack_emulator.socket_mode import Ack, Delivery
from tests.slack_emulator.store import (
    Channel,
    Ephemeral,
    Stream,
    SuggestedPrompts,
    ThreadStatus,
    ThreadTitle,
    User,
)
from tests.slack_emulator.validation import ApiError
from tests.slack_emulator.web_api import ApiCall

__all__ = [
    "Ack",
    "ApiCall",
    "ApiError",
    "AppIdentity",
    "Channel",
    "Delivery",
    "Ephemeral",
    "ResponsePost",
    "SlackEmulator",
    "Stream",
    "SuggestedPrompts",
    "ThreadStatus",
    "ThreadTitle",
    "User",
    "encode_request",
    "post_to_app",
    "rich_text_blocks",
    "sign_request",
]
