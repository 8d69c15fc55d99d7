"""Two replicas of the bot sharing one PostgreSQL state: each question is answered once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.slack.conftest import GENERAL, SIGNING_SECRET, RunningBot, StartBot, shared_state
from tests.slack.test_robustness import mention, wait_until
from tests.slack.test_surfaces import answer_in_thread
from tests.slack_emulator import SlackEmulator, post_to_app
from tests.state.conftest import postgres_server, postgres_url

__all__ = ["postgres_server", "postgres_url"]  # the PostgreSQL fixtures, used by name

# Limits would refuse twenty questions from one asker; they are not what is tested here.
NO_LIMITS = {"user_rate_per_minute": 0, "channel_rate_per_minute": 0}


async def start_replicas(
    start_bot: StartBot, postgres_url: str, tmp_path: Path, mode: str = "socket"
) -> list[RunningBot]:
    return [
        await start_bot(mode=mode, state=shared_state(postgres_url, tmp_path), **NO_LIMITS)
        for _ in range(2)
    ]


async def ask_twenty(slack: SlackEmulator) -> list[str]:
    """Twenty mentions, their app_mention events alternating between the two connections (and
    each message event on the other one); the roots of the threads they are answered in."""
    connections = slack.connection_ids
    roots = []
    for n in range(20):
        message, app_mention = mention(slack, f"question {n}: how do I reverse a journal entry?")
        roots.append(message["event"]["ts"])
        await slack.deliver("events_api", message, connection=connections[(n + 1) % 2])
        await slack.deliver("events_api", app_mention, connection=connections[n % 2])
    return roots


def answered(bots: list[RunningBot]) -> float:
    return sum(bot.counted("questions_total", surface="slack", outcome="answered") for bot in bots)


def duplicates(bots: list[RunningBot]) -> float:
    return sum(
        bot.counted("slack_events_total", kind="app_mention", result="duplicate") for bot in bots
    )


async def test_both_replicas_hold_a_socket_mode_connection(
    slack: SlackEmulator, start_bot: StartBot, postgres_url: str, tmp_path: Path
) -> None:
    await start_replicas(start_bot, postgres_url, tmp_path)
    await slack.wait_for_connections(2)
    assert slack.open_connections == 2


async def test_same_event_on_both_connections_is_answered_once(
    slack: SlackEmulator, start_bot: StartBot, postgres_url: str, tmp_path: Path
) -> None:
    bots = await start_replicas(start_bot, postgres_url, tmp_path)
    await slack.wait_for_connections(2)
    _, app_mention = mention(slack)
    await asyncio.gather(
        *(
            slack.deliver("events_api", app_mention, connection=connection)
            for connection in slack.connection_ids
        )
    )
    await answer_in_thread(slack, GENERAL, app_mention["event"]["ts"])
    await wait_until(lambda: duplicates(bots) == 1)
    assert len(slack.calls_to("chat.postMessage")) == 1


async def test_twenty_mentions_over_two_replicas_are_each_answered_once(
    slack: SlackEmulator, start_bot: StartBot, postgres_url: str, tmp_path: Path
) -> None:
    await start_replicas(start_bot, postgres_url, tmp_path)
    await slack.wait_for_connections(2)
    roots = await ask_twenty(slack)
    await slack.wait_for_call("chat.update", count=20, timeout=15)
    answers = sorted(call.params["thread_ts"] for call in slack.calls_to("chat.postMessage"))
    assert answers == sorted(roots)


async def test_twenty_mentions_are_answered_by_both_replicas(
    slack: SlackEmulator, start_bot: StartBot, postgres_url: str, tmp_path: Path
) -> None:
    bots = await start_replicas(start_bot, postgres_url, tmp_path)
    await slack.wait_for_connections(2)
    await ask_twenty(slack)
    await wait_until(lambda: answered(bots) == 20, timeout=15)
    assert [
        bot.counted("questions_total", surface="slack", outcome="answered") for bot in bots
    ] == [10, 10]


async def test_same_event_posted_to_both_replicas_at_once_is_answered_once(
    slack: SlackEmulator, start_bot: StartBot, postgres_url: str, tmp_path: Path
) -> None:
    bots = await start_replicas(start_bot, postgres_url, tmp_path, mode="http")
    _, app_mention = mention(slack)
    statuses = await asyncio.gather(
        *(post_to_app(bot.events_url, app_mention, SIGNING_SECRET) for bot in bots)
    )
    await answer_in_thread(slack, GENERAL, app_mention["event"]["ts"])
    await wait_until(lambda: duplicates(bots) == 1)
    assert [status for status, _, _ in statuses] == [200, 200]
    assert len(slack.calls_to("chat.postMessage")) == 1
