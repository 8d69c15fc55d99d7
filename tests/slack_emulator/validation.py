"""Slack's limits on messages and Block Kit, checked the way the Web API reports them."""

from __future__ import annotations

import json
from typing import Any

MAX_MESSAGE_BLOCKS = 50
MAX_SURFACE_BLOCKS = 100  # Home tab and modals
MAX_TEXT = 40_000
MAX_SECTION_TEXT = 3_000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2_000
MAX_HEADER_TEXT = 150
MAX_BLOCK_ID = 255
MAX_ACTION_ID = 255
MAX_ACTIONS_ELEMENTS = 25
MAX_CONTEXT_ELEMENTS = 10
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2_000


class ApiError(Exception):
    """A Web API failure: ``{"ok": false, "error": error}`` plus optional detail messages."""

    def __init__(self, error: str, *messages: str) -> None:
        super().__init__(error)
        self.error = error
        self.messages = list(messages)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error": self.error}
        if self.messages:
            body["response_metadata"] = {"messages": self.messages}
        return body


def decode_json_param(value: Any, *, error: str) -> Any:
    """Form bodies carry blocks, views and prompts as JSON strings; JSON bodies carry objects."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise ApiError(error, f"[ERROR] invalid JSON: {exc.msg}") from exc


def truncate_text(text: str) -> tuple[str, str | None]:
    """Slack keeps the first 40,000 characters and warns ``message_truncated``."""
    if len(text) > MAX_TEXT:
        return text[:MAX_TEXT], "message_truncated"
    return text, None


def check_blocks(value: Any, *, limit: int = MAX_MESSAGE_BLOCKS) -> list[dict[str, Any]]:
    """The blocks, or ``invalid_blocks`` naming every broken limit with a json-pointer."""
    blocks = decode_json_param(value, error="invalid_blocks_format")
    if not isinstance(blocks, list):
        raise ApiError("invalid_blocks_format", "[ERROR] blocks must be an array")
    problems: list[str] = []
    if len(blocks) > limit:
        problems.append(f"no more than {limit} items allowed [json-pointer:/blocks]")
    seen_ids: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"/blocks/{index}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            problems.append(f"missing required field: type [json-pointer:{where}]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if len(str(block_id)) > MAX_BLOCK_ID:
                problems.append(_too_long(MAX_BLOCK_ID, f"{where}/block_id"))
            if block_id in seen_ids:
                problems.append(f"duplicate block_id [json-pointer:{where}/block_id]")
            seen_ids.add(str(block_id))
        problems.extend(_check_block(block, where))
    if problems:
        raise ApiError("invalid_blocks", *[f"[ERROR] {problem}" for problem in problems])
    return blocks


def _check_block(block: dict[str, Any], where: str) -> list[str]:
    kind = block["type"]
    problems: list[str] = []
    if kind == "section":
        problems += _check_text(block.get("text"), MAX_SECTION_TEXT, f"{where}/text/text")
        fields = block.get("fields") or []
        if len(fields) > MAX_SECTION_FIELDS:
            problems.append(
                f"no more than {MAX_SECTION_FIELDS} items allowed [json-pointer:{where}/fields]"
            )
        for number, item in enumerate(fields):
            problems += _check_text(item, MAX_FIELD_TEXT, f"{where}/fields/{number}/text")
        if "text" not in block and not fields:
            problems.append(f"must provide text or fields [json-pointer:{where}]")
        if isinstance(block.get("accessory"), dict):
            problems += _check_element(block["accessory"], f"{where}/accessory")
    elif kind == "header":
        problems += _check_text(block.get("text"), MAX_HEADER_TEXT, f"{where}/text/text")
    elif kind == "actions":
        elements = block.get("elements") or []
        if len(elements) > MAX_ACTIONS_ELEMENTS:
            problems.append(
                f"no more than {MAX_ACTIONS_ELEMENTS} items allowed [json-pointer:{where}/elements]"
            )
        for number, element in enumerate(elements):
            problems += _check_element(element, f"{where}/elements/{number}")
    elif kind == "context":
        elements = block.get("elements") or []
        if len(elements) > MAX_CONTEXT_ELEMENTS:
            problems.append(
                f"no more than {MAX_CONTEXT_ELEMENTS} items allowed [json-pointer:{where}/elements]"
            )
    return problems


def _check_element(element: Any, where: str) -> list[str]:
    if not isinstance(element, dict):
        return [f"must be an object [json-pointer:{where}]"]
    problems: list[str] = []
    if len(str(element.get("action_id", ""))) > MAX_ACTION_ID:
        problems.append(_too_long(MAX_ACTION_ID, f"{where}/action_id"))
    if element.get("type") == "button":
        problems += _check_text(element.get("text"), MAX_BUTTON_TEXT, f"{where}/text/text")
        if len(str(element.get("value", ""))) > MAX_BUTTON_VALUE:
            problems.append(_too_long(MAX_BUTTON_VALUE, f"{where}/value"))
    return problems


def _check_text(text_object: Any, limit: int, where: str) -> list[str]:
    if text_object is None:
        return []
    if not isinstance(text_object, dict) or not isinstance(text_object.get("text"), str):
        return [f"must be a text object [json-pointer:{where.removesuffix('/text')}]"]
    if len(text_object["text"]) > limit:
        return [_too_long(limit, where)]
    return []


def _too_long(limit: int, where: str) -> str:
    return f"must be less than {limit + 1} characters [json-pointer:{where}]"
