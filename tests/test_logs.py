import asyncio
import io
import json
import logging
import re
from collections.abc import Callable, Iterator

import pytest

from ledger_bot import logs
from ledger_bot.errors import ConfigError
from ledger_bot.logs import (
    ConsoleFormatter,
    JsonFormatter,
    configure_logging,
    current_request_id,
    request_context,
)

# Fake secrets, assembled so that secret scanners do not flag this file.
SLACK_TOKEN = "xoxb-" + "2712345678901-2798765432109-Hq3zXbLwQ8nTfR2yK9vUcM4e"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    + ".eyJzdWIiOiJVMDEyMzQ1Njc4OSJ9"
    + ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)

log = logging.getLogger("ledger_bot.test")

Lines = Callable[[], list[dict[str, object]]]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def stream(restore_root_logger: None) -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def json_lines(stream: io.StringIO) -> Lines:
    """Logging configured for JSON; returns a function reading the lines written so far."""
    configure_logging("INFO", "json", stream=stream)
    return lambda: [json.loads(line) for line in stream.getvalue().splitlines()]


def fixed_record(**extra: object) -> logging.LogRecord:
    record = logging.LogRecord(
        "ledger_bot.service", logging.INFO, "service.py", 1, "question %s", ("answered",), None
    )
    record.created = 1_714_560_000.25
    record.__dict__.update(extra)
    return record


def test_json_line_has_time_level_logger_message_and_extras() -> None:
    line = JsonFormatter().format(fixed_record(request_id="0a1b2c3d4e5f", surface="slack"))
    assert json.loads(line) == {
        "ts": "2024-05-01T10:40:00.250Z",
        "level": "INFO",
        "logger": "ledger_bot.service",
        "message": "question answered",
        "request_id": "0a1b2c3d4e5f",
        "surface": "slack",
    }


def test_console_line_is_readable_with_key_value_extras() -> None:
    record = fixed_record(request_id="0a1b2c3d4e5f", surface="slack", user="Ada Lovelace")
    assert ConsoleFormatter().format(record) == (
        "2024-05-01T10:40:00.250Z INFO    ledger_bot.service: question answered"
        '  request_id=0a1b2c3d4e5f surface=slack user="Ada Lovelace"'
    )


def test_logged_line_is_one_json_object_with_extras(json_lines: Lines) -> None:
    log.info("synced %d documents", 3, extra={"seconds": 0.25, "sources": ["docs"]})
    (line,) = json_lines()
    assert {k: v for k, v in line.items() if k != "ts"} == {
        "level": "INFO",
        "logger": "ledger_bot.test",
        "message": "synced 3 documents",
        "seconds": 0.25,
        "sources": ["docs"],
    }


def test_timestamp_is_iso_8601_utc(json_lines: Lines) -> None:
    log.info("hello")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", str(json_lines()[0]["ts"]))


def test_line_outside_a_request_has_no_request_id(json_lines: Lines) -> None:
    log.info("started")
    assert "request_id" not in json_lines()[0]


async def test_request_id_is_on_lines_from_a_coroutine_and_a_thread(json_lines: Lines) -> None:
    async def retrieve() -> None:
        await asyncio.sleep(0)
        log.info("in a coroutine")

    with request_context("0a1b2c3d4e5f"):
        await retrieve()
        await asyncio.to_thread(log.info, "in a thread")
    log.info("after the request")
    assert [line.get("request_id") for line in json_lines()] == [
        "0a1b2c3d4e5f",
        "0a1b2c3d4e5f",
        None,
    ]


async def test_concurrent_requests_keep_their_own_ids(json_lines: Lines) -> None:
    async def handle(request_id: str) -> None:
        with request_context(request_id):
            for step in range(3):
                await asyncio.sleep(0)
                log.info("step %d", step)

    await asyncio.gather(handle("aaaaaaaaaaaa"), handle("bbbbbbbbbbbb"))
    lines = json_lines()
    assert sorted((line["request_id"], line["message"]) for line in lines) == [
        ("aaaaaaaaaaaa", "step 0"),
        ("aaaaaaaaaaaa", "step 1"),
        ("aaaaaaaaaaaa", "step 2"),
        ("bbbbbbbbbbbb", "step 0"),
        ("bbbbbbbbbbbb", "step 1"),
        ("bbbbbbbbbbbb", "step 2"),
    ]


def test_request_context_generates_a_12_hex_digit_id() -> None:
    with request_context() as request_id:
        pass
    assert re.fullmatch(r"[0-9a-f]{12}", request_id)


def test_request_id_is_current_inside_the_block_only() -> None:
    with request_context() as request_id:
        inside = current_request_id()
    assert (inside, current_request_id()) == (request_id, None)


def test_request_context_restores_the_outer_id() -> None:
    with request_context("outer0000000"):
        with request_context("inner0000000"):
            pass
        assert current_request_id() == "outer0000000"


def test_secrets_in_message_arguments_and_extras_are_redacted(
    json_lines: Lines, stream: io.StringIO
) -> None:
    log.warning(f"token {SLACK_TOKEN} rejected", extra={"auth": f"Bearer {JWT}"})
    log.info("session %s", JWT)
    output = stream.getvalue()
    assert (SLACK_TOKEN in output, JWT in output) == (False, False)
    assert [line["message"] for line in json_lines()] == [
        "token [redacted:slack-token] rejected",
        "session [redacted:jwt]",
    ]


def test_id_fields_are_redacted_each_time_from_the_kept_redaction(
    json_lines: Lines, stream: io.StringIO
) -> None:
    logs._redact_id.cache_clear()
    for _ in range(2):
        log.info("question answered", extra={"user": SLACK_TOKEN, "channel": "C0GENERAL"})
    assert SLACK_TOKEN not in stream.getvalue()
    assert [(line["user"], line["channel"]) for line in json_lines()] == [
        ("[redacted:slack-token]", "C0GENERAL"),
        ("[redacted:slack-token]", "C0GENERAL"),
    ]
    assert logs._redact_id.cache_info().hits == 2


def test_exception_is_one_redacted_json_field(json_lines: Lines, stream: io.StringIO) -> None:
    try:
        raise RuntimeError(f"Slack refused {SLACK_TOKEN} for session {JWT}")
    except RuntimeError:
        log.exception("posting the answer failed")
    (line,) = json_lines()
    exception = str(line["exception"])
    assert (SLACK_TOKEN in stream.getvalue(), JWT in stream.getvalue()) == (False, False)
    assert exception.startswith("Traceback (most recent call last):")
    assert exception.endswith(
        "RuntimeError: Slack refused [redacted:slack-token] for session [redacted:jwt]"
    )


def test_console_output_redacts_tracebacks_too(stream: io.StringIO) -> None:
    configure_logging("INFO", "console", stream=stream)
    try:
        raise ValueError(f"bad token {SLACK_TOKEN}")
    except ValueError:
        log.exception("failed")
    assert stream.getvalue().splitlines()[-1] == "ValueError: bad token [redacted:slack-token]"


def test_level_filters_lower_records(stream: io.StringIO) -> None:
    configure_logging("WARNING", "json", stream=stream)
    log.info("quiet")
    log.warning("loud")
    assert [json.loads(line)["message"] for line in stream.getvalue().splitlines()] == ["loud"]


def test_auto_format_is_json_when_not_a_terminal(stream: io.StringIO) -> None:
    configure_logging("INFO", "auto", stream=stream)
    log.info("hello")
    assert json.loads(stream.getvalue())["message"] == "hello"


def test_auto_format_is_console_on_a_terminal(restore_root_logger: None) -> None:
    terminal = Terminal()
    configure_logging("INFO", "auto", stream=terminal)
    log.info("hello", extra={"user": "U123"})
    assert terminal.getvalue().endswith(" INFO    ledger_bot.test: hello  user=U123\n")


def test_configuring_again_replaces_the_handler(stream: io.StringIO) -> None:
    configure_logging("INFO", "json", stream=io.StringIO())
    configure_logging("INFO", "json", stream=stream)
    log.info("once")
    assert len(stream.getvalue().splitlines()) == 1
    assert [h.get_name() for h in logging.getLogger().handlers].count("ledger_bot") == 1


def test_unknown_level_is_a_config_error(restore_root_logger: None) -> None:
    with pytest.raises(ConfigError, match="unknown log level 'loud'"):
        configure_logging("loud")


def test_unknown_format_is_a_config_error(restore_root_logger: None) -> None:
    with pytest.raises(ConfigError, match="unknown log format 'xml'"):
        configure_logging("INFO", "xml")
