"""The state-store contract: every test runs against SQLite and against a real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from ledger_bot.errors import BackendUnavailable, ConfigError
from ledger_bot.state import (
    CounterDecision,
    FeedbackRecord,
    QuestionRecord,
    RateDecision,
    SqliteStateStore,
    StateStore,
    TokenTake,
    build_state_store,
)

from .conftest import START, Backend, FakeClock, TcpProxy


def question(**changes: object) -> QuestionRecord:
    fields: dict[str, object] = {
        "id": None,
        "asked_at": START,
        "question": "How many vacation days do I get?",
        "user": "U_ALICE",
        "channel": "C_GENERAL",
        "surface": "slack",
        "outcome": "pending",
        "latency_ms": None,
        "sources": (),
        "mode": "extractive",
        "request_id": "req-1",
    }
    fields.update(changes)
    return QuestionRecord(**fields)  # type: ignore[arg-type]


# Migrations


async def test_opening_a_fresh_database_brings_it_to_schema_version_3(store: StateStore) -> None:
    assert await store.schema_version() == 3


async def test_opening_the_same_database_twice_applies_each_migration_once(
    backend: Backend,
) -> None:
    await backend.open_store()
    await backend.open_store()
    versions = backend.query("SELECT version FROM schema_migrations ORDER BY version")
    assert versions == [(1,), (2,), (3,)]


async def test_two_stores_opening_a_fresh_database_at_once_migrate_it_once(
    backend: Backend,
) -> None:
    await asyncio.gather(backend.new_store().open(), backend.new_store().open())
    versions = backend.query("SELECT version FROM schema_migrations ORDER BY version")
    assert versions == [(1,), (2,), (3,)]


async def test_database_migrated_by_a_newer_version_is_refused(backend: Backend) -> None:
    await backend.open_store()
    backend.query("INSERT INTO schema_migrations (version, applied_at) VALUES (4, '2027-01-01')")
    with pytest.raises(ConfigError, match="schema version 4, newer than"):
        await backend.new_store().open()


# Event claims


async def test_first_claim_of_an_event_wins(store: StateStore) -> None:
    assert await store.claim_event("Ev001", owner="replica-a") is True


async def test_second_claim_of_an_event_loses(store: StateStore) -> None:
    await store.claim_event("Ev001", owner="replica-a")
    assert await store.claim_event("Ev001", owner="replica-b") is False


async def test_twenty_concurrent_claims_of_one_event_have_one_winner(store: StateStore) -> None:
    wins = await asyncio.gather(*(store.claim_event("Ev001", f"task-{n}") for n in range(20)))
    assert wins.count(True) == 1


async def test_concurrent_claims_from_two_stores_have_one_winner(backend: Backend) -> None:
    first, second = await backend.open_store(), await backend.open_store()
    claims = [s.claim_event("Ev001", f"task-{n}") for n in range(10) for s in (first, second)]
    assert (await asyncio.gather(*claims)).count(True) == 1


async def test_claim_survives_a_restart_of_the_store(backend: Backend) -> None:
    before = await backend.open_store()
    await before.claim_event("Ev001", owner="replica-a")
    await before.close()
    assert await (await backend.open_store()).claim_event("Ev001", owner="replica-a") is False


async def test_expired_claim_is_purged(store: StateStore, clock: FakeClock) -> None:
    await store.claim_event("Ev001", owner="replica-a", ttl_seconds=60)
    clock.advance(60)
    assert await store.purge_expired() == 1


async def test_claim_within_its_ttl_is_not_purged(store: StateStore, clock: FakeClock) -> None:
    await store.claim_event("Ev001", owner="replica-a", ttl_seconds=60)
    clock.advance(59)
    assert await store.purge_expired() == 0


async def test_expired_claim_can_be_claimed_again_after_purge(
    store: StateStore, clock: FakeClock
) -> None:
    await store.claim_event("Ev001", owner="replica-a", ttl_seconds=60)
    clock.advance(61)
    await store.purge_expired()
    assert await store.claim_event("Ev001", owner="replica-b") is True


async def test_expired_claim_can_be_claimed_again_before_purge(
    store: StateStore, clock: FakeClock
) -> None:
    await store.claim_event("Ev001", owner="replica-a", ttl_seconds=60)
    clock.advance(61)
    assert await store.claim_event("Ev001", owner="replica-b") is True


async def test_claim_with_zero_ttl_raises_value_error(store: StateStore) -> None:
    with pytest.raises(ValueError, match="ttl_seconds"):
        await store.claim_event("Ev001", owner="replica-a", ttl_seconds=0)


CLAIMING_PROCESS = """
import asyncio, json, sys
from pathlib import Path
from ledger_bot.state import build_state_store

async def main() -> None:
    url, sqlite_path, owner = sys.argv[1:]
    store = build_state_store(url or None, Path(sqlite_path))
    await store.open()
    print("ready", flush=True)
    sys.stdin.readline()
    ids = [f"Ev{n:03d}" for n in range(50)]
    wins = await asyncio.gather(*(store.claim_event(event, owner) for event in ids))
    await store.close()
    print(json.dumps([event for event, won in zip(ids, wins) if won]), flush=True)

asyncio.run(main())
"""


async def test_two_processes_claiming_the_same_50_events_win_each_once(backend: Backend) -> None:
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            CLAIMING_PROCESS,
            backend.url or "",
            str(backend.sqlite_path),
            owner,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for owner in ("process-a", "process-b")
    ]
    try:
        for process in processes:  # both have opened (and raced to migrate) before either claims
            assert process.stdout is not None
            assert await asyncio.wait_for(process.stdout.readline(), 20) == b"ready\n"
        outputs = await asyncio.wait_for(
            asyncio.gather(*(process.communicate(b"go\n") for process in processes)), 20
        )
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()
    won = [event for stdout, _ in outputs for event in json.loads(stdout)]
    assert sorted(won) == [f"Ev{n:03d}" for n in range(50)]


# Token buckets


async def test_bucket_allows_as_many_requests_as_its_capacity(store: StateStore) -> None:
    decisions = [await store.take_token("U_ALICE", 3, 0.5) for _ in range(4)]
    assert [decision.allowed for decision in decisions] == [True, True, True, False]


async def test_refused_request_is_told_when_to_retry(store: StateStore) -> None:
    for _ in range(3):
        await store.take_token("U_ALICE", 3, 0.5)
    assert await store.take_token("U_ALICE", 3, 0.5) == RateDecision(
        allowed=False, retry_after=2.0, remaining=0.0
    )


async def test_partly_refilled_bucket_shortens_retry_after(
    store: StateStore, clock: FakeClock
) -> None:
    for _ in range(3):
        await store.take_token("U_ALICE", 3, 0.5)
    clock.advance(1)
    assert await store.take_token("U_ALICE", 3, 0.5) == RateDecision(
        allowed=False, retry_after=1.0, remaining=0.5
    )


async def test_empty_bucket_allows_again_once_refilled(store: StateStore, clock: FakeClock) -> None:
    for _ in range(3):
        await store.take_token("U_ALICE", 3, 0.5)
    clock.advance(2)
    assert await store.take_token("U_ALICE", 3, 0.5) == RateDecision(
        allowed=True, retry_after=0.0, remaining=0.0
    )


async def test_bucket_never_refills_beyond_its_capacity(
    store: StateStore, clock: FakeClock
) -> None:
    await store.take_token("U_ALICE", 3, 0.5)
    clock.advance(3600)
    assert await store.take_token("U_ALICE", 3, 0.5, cost=2) == RateDecision(
        allowed=True, retry_after=0.0, remaining=1.0
    )


async def test_buckets_of_different_keys_are_independent(store: StateStore) -> None:
    await store.take_token("U_ALICE", 1, 0.5)
    assert (await store.take_token("U_BOB", 1, 0.5)).allowed is True


async def test_bucket_is_shared_between_two_stores_on_one_database(backend: Backend) -> None:
    first, second = await backend.open_store(), await backend.open_store()
    await first.take_token("U_ALICE", 2, 0.5, cost=2)
    assert (await second.take_token("U_ALICE", 2, 0.5)).allowed is False


async def test_bucket_survives_a_restart_of_the_store(backend: Backend) -> None:
    before = await backend.open_store()
    await before.take_token("U_ALICE", 2, 0.5, cost=2)
    await before.close()
    assert (await (await backend.open_store()).take_token("U_ALICE", 2, 0.5)).allowed is False


async def test_concurrent_takes_from_two_stores_never_over_grant(backend: Backend) -> None:
    first, second = await backend.open_store(), await backend.open_store()
    takes = [s.take_token("U_ALICE", 10, 0.5) for _ in range(25) for s in (first, second)]
    decisions = await asyncio.gather(*takes)
    assert [decision.allowed for decision in decisions].count(True) == 10


async def test_cost_above_capacity_raises_value_error(store: StateStore) -> None:
    with pytest.raises(ValueError, match="at most capacity"):
        await store.take_token("U_ALICE", 3, 0.5, cost=4)


async def test_refilled_bucket_is_purged(store: StateStore, clock: FakeClock) -> None:
    await store.take_token("U_ALICE", 3, 0.5)
    clock.advance(2)
    assert await store.purge_expired() == 1


async def test_bucket_still_refilling_is_not_purged(store: StateStore, clock: FakeClock) -> None:
    await store.take_token("U_ALICE", 3, 0.5)
    clock.advance(1.5)
    assert await store.purge_expired() == 0


# Several buckets in one transaction

USER, CHANNEL, EVERYONE = "rate:user:U_ALICE", "rate:channel:C_GENERAL", "rate:global"


async def test_takes_from_every_bucket_in_turn(store: StateStore) -> None:
    takes = [TokenTake(USER, 3, 0.5), TokenTake(CHANNEL, 5, 1.0), TokenTake(EVERYONE, 10, 2.0)]
    assert await store.take_tokens(takes) == [
        RateDecision(allowed=True, retry_after=0.0, remaining=2.0),
        RateDecision(allowed=True, retry_after=0.0, remaining=4.0),
        RateDecision(allowed=True, retry_after=0.0, remaining=9.0),
    ]


async def test_takes_stop_at_the_first_bucket_that_refuses(store: StateStore) -> None:
    await store.take_token(CHANNEL, 1, 0.5)
    takes = [TokenTake(USER, 2, 0.5), TokenTake(CHANNEL, 1, 0.5), TokenTake(EVERYONE, 10, 2.0)]
    assert await store.take_tokens(takes) == [
        RateDecision(allowed=True, retry_after=0.0, remaining=1.0),
        RateDecision(allowed=False, retry_after=2.0, remaining=0.0),
    ]
    # The token taken before the refusal stays taken; the bucket after it was not touched.
    assert (await store.take_token(USER, 2, 0.5)).remaining == 0.0
    assert (await store.take_token(EVERYONE, 10, 2.0)).remaining == 9.0


async def test_takes_refill_like_single_takes(store: StateStore, clock: FakeClock) -> None:
    await store.take_tokens([TokenTake(USER, 3, 0.5, cost=3), TokenTake(CHANNEL, 3, 0.5)])
    clock.advance(1)
    assert await store.take_tokens([TokenTake(USER, 3, 0.5), TokenTake(CHANNEL, 3, 0.5)]) == [
        RateDecision(allowed=False, retry_after=1.0, remaining=0.5)
    ]


async def test_no_takes_take_nothing(store: StateStore) -> None:
    assert await store.take_tokens([]) == []
    assert await store.purge_expired() == 0


async def test_a_bad_take_raises_before_any_bucket_is_touched(store: StateStore) -> None:
    with pytest.raises(ValueError, match="at most capacity"):
        await store.take_tokens([TokenTake(USER, 3, 0.5), TokenTake(CHANNEL, 3, 0.5, cost=4)])
    assert (await store.take_token(USER, 3, 0.5)).remaining == 2.0


async def test_concurrent_takes_of_several_buckets_never_over_grant(backend: Backend) -> None:
    first, second = await backend.open_store(), await backend.open_store()
    takes = [TokenTake(USER, 10, 0.5), TokenTake(EVERYONE, 15, 0.5)]
    batches = await asyncio.gather(
        *[s.take_tokens(takes) for _ in range(25) for s in (first, second)]
    )
    assert sorted(len(batch) for batch in batches).count(2) == 10  # past the user's 10: refused
    assert (await first.take_token(EVERYONE, 15, 0.5)).remaining == 4.0


# Counters


async def test_counter_adds_amounts_up_to_its_limit(store: StateStore) -> None:
    await store.add_to_counter("cost_usd", "2026-11-26", 4.0, limit=10.0)
    assert await store.add_to_counter("cost_usd", "2026-11-26", 6.0, limit=10.0) == (
        CounterDecision(allowed=True, total=10.0)
    )


async def test_counter_refuses_an_amount_over_its_limit(store: StateStore) -> None:
    await store.add_to_counter("cost_usd", "2026-11-26", 9.5, limit=10.0)
    assert await store.add_to_counter("cost_usd", "2026-11-26", 1.0, limit=10.0) == (
        CounterDecision(allowed=False, total=9.5)
    )


async def test_counter_refuses_a_first_amount_over_its_limit(store: StateStore) -> None:
    assert await store.add_to_counter("cost_usd", "2026-11-26", 11.0, limit=10.0) == (
        CounterDecision(allowed=False, total=0.0)
    )


async def test_counter_windows_are_independent(store: StateStore) -> None:
    await store.add_to_counter("cost_usd", "2026-11-26", 10.0, limit=10.0)
    assert await store.add_to_counter("cost_usd", "2026-11-27", 1.0, limit=10.0) == (
        CounterDecision(allowed=True, total=1.0)
    )


async def test_concurrent_additions_from_two_stores_stop_at_the_limit(backend: Backend) -> None:
    first, second = await backend.open_store(), await backend.open_store()
    adds = [
        s.add_to_counter("answers", "2026-11-26", 1, 5) for _ in range(10) for s in (first, second)
    ]
    decisions = await asyncio.gather(*adds)
    assert [decision.allowed for decision in decisions].count(True) == 5


async def test_counters_of_windows_over_a_week_old_are_purged(store: StateStore) -> None:
    # START is 2026-11-26 09:00 UTC: the windows of 19 November and later are kept.
    for day in ("2026-11-18", "2026-11-19", "2026-11-26"):
        await store.add_to_counter("questions", day, 1, limit=10)
    assert await store.purge_expired() == 1
    assert await store.add_to_counter("questions", "2026-11-18", 0, limit=10) == (
        CounterDecision(allowed=True, total=0.0)
    )
    assert await store.add_to_counter("questions", "2026-11-19", 0, limit=10) == (
        CounterDecision(allowed=True, total=1.0)
    )


async def test_negative_amount_raises_value_error(store: StateStore) -> None:
    with pytest.raises(ValueError, match="amount"):
        await store.add_to_counter("cost_usd", "2026-11-26", -1.0, limit=10.0)


# Question log


async def test_question_round_trips_with_its_sources_and_unicode(store: StateStore) -> None:
    record = question(
        question="Où sont les congés d'été ? 🏖️ «ünïcode»",
        sources=("handbook/congés.md#Été", "faq.md"),
        outcome="answered",
        latency_ms=412.5,
        cost_usd=0.25,
        answer_text="Voir *congés* — 25 jours.",
        thread_ts="1764147600.000100",
    )
    question_id = await store.record_question(record)
    assert await store.questions_since(START) == [
        QuestionRecord(
            id=question_id,
            asked_at=START,
            question="Où sont les congés d'été ? 🏖️ «ünïcode»",
            user="U_ALICE",
            channel="C_GENERAL",
            surface="slack",
            outcome="answered",
            latency_ms=412.5,
            sources=("handbook/congés.md#Été", "faq.md"),
            mode="extractive",
            request_id="req-1",
            cost_usd=0.25,
            answer_text="Voir *congés* — 25 jours.",
            thread_ts="1764147600.000100",
            error=None,
        )
    ]


async def test_each_recorded_question_gets_its_own_id(store: StateStore) -> None:
    ids = [await store.record_question(question()) for _ in range(3)]
    assert len(set(ids)) == 3


async def test_recording_a_question_that_has_an_id_raises_value_error(store: StateStore) -> None:
    with pytest.raises(ValueError, match="must not have an id"):
        await store.record_question(question(id=7))


async def test_update_question_changes_only_the_given_fields(store: StateStore) -> None:
    question_id = await store.record_question(question())
    await store.update_question(
        question_id,
        outcome="error",
        latency_ms=1500.0,
        sources=("a.md",),
        mode="llm",
        answer_text="",
        cost_usd=0.5,
        error="provider timed out",
    )
    assert await store.questions_since(START) == [
        question(
            id=question_id,
            outcome="error",
            latency_ms=1500.0,
            sources=("a.md",),
            mode="llm",
            cost_usd=0.5,
            error="provider timed out",
        )
    ]


async def test_update_of_an_unknown_question_raises_lookup_error(store: StateStore) -> None:
    with pytest.raises(LookupError, match="no question with id 404"):
        await store.update_question(404, outcome="answered")


async def test_update_of_a_field_that_cannot_change_raises_type_error(store: StateStore) -> None:
    question_id = await store.record_question(question())
    with pytest.raises(TypeError, match="cannot change \\['question'\\]"):
        await store.update_question(question_id, question="edited")  # type: ignore[call-arg]


async def test_update_to_an_unknown_outcome_raises_value_error(store: StateStore) -> None:
    question_id = await store.record_question(question())
    with pytest.raises(ValueError, match="outcome must be one of"):
        await store.update_question(question_id, outcome="maybe")


async def test_questions_since_leaves_out_earlier_questions(store: StateStore) -> None:
    await store.record_question(question(request_id="old", asked_at=START - timedelta(seconds=1)))
    await store.record_question(question(request_id="new", asked_at=START))
    assert [q.request_id for q in await store.questions_since(START)] == ["new"]


async def test_recent_questions_are_the_users_latest_first(store: StateStore) -> None:
    for minute, user in enumerate(["U_ALICE", "U_ALICE", "U_BOB", "U_ALICE"]):
        asked_at = START + timedelta(minutes=minute)
        await store.record_question(question(user=user, request_id=f"r{minute}", asked_at=asked_at))
    recent = await store.recent_questions("U_ALICE", limit=2)
    assert [q.request_id for q in recent] == ["r3", "r1"]


async def test_questions_are_indexed_by_channel_and_thread(backend: Backend) -> None:
    await backend.open_store()
    assert backend.index_columns("questions_channel_thread_ts") == ["channel", "thread_ts"]


async def test_get_question_returns_the_logged_question(store: StateStore) -> None:
    await store.record_question(question(request_id="other"))
    question_id = await store.record_question(
        question(outcome="answered", sources=("faq.md",), thread_ts="1764147600.000100")
    )
    assert await store.get_question(question_id) == question(
        id=question_id, outcome="answered", sources=("faq.md",), thread_ts="1764147600.000100"
    )


async def test_get_question_returns_the_question_as_last_updated(store: StateStore) -> None:
    question_id = await store.record_question(question())
    await store.update_question(question_id, outcome="not_found", latency_ms=80.0)
    assert await store.get_question(question_id) == question(
        id=question_id, outcome="not_found", latency_ms=80.0
    )


async def test_get_question_of_an_unknown_id_is_none(store: StateStore) -> None:
    await store.record_question(question())
    assert await store.get_question(404) is None


async def test_get_question_of_an_id_too_large_to_store_is_none(store: StateStore) -> None:
    assert await store.get_question(2**63) is None


@pytest.mark.parametrize("question_id", [0, -1])
async def test_get_question_of_a_non_positive_id_raises_value_error(
    store: StateStore, question_id: int
) -> None:
    with pytest.raises(ValueError, match="question_id must be a positive integer"):
        await store.get_question(question_id)


THREAD = "1764147600.000100"


async def test_a_thread_with_an_answered_question_is_answered_in(store: StateStore) -> None:
    await store.record_question(question(outcome="answered", thread_ts=THREAD))
    assert await store.answered_in_thread("C_GENERAL", THREAD) is True


async def test_a_thread_with_a_not_found_question_is_answered_in(store: StateStore) -> None:
    await store.record_question(question(outcome="not_found", thread_ts=THREAD))
    assert await store.answered_in_thread("C_GENERAL", THREAD) is True


async def test_a_thread_whose_pending_question_was_then_answered_is_answered_in(
    store: StateStore,
) -> None:
    question_id = await store.record_question(question(outcome="pending", thread_ts=THREAD))
    await store.update_question(question_id, outcome="answered")
    assert await store.answered_in_thread("C_GENERAL", THREAD) is True


async def test_a_thread_with_only_a_rate_limited_question_is_not_answered_in(
    store: StateStore,
) -> None:
    await store.record_question(question(outcome="rate_limited", thread_ts=THREAD))
    assert await store.answered_in_thread("C_GENERAL", THREAD) is False


async def test_a_thread_with_only_a_pending_question_is_not_answered_in(
    store: StateStore,
) -> None:
    await store.record_question(question(outcome="pending", thread_ts=THREAD))
    assert await store.answered_in_thread("C_GENERAL", THREAD) is False


async def test_a_thread_with_no_questions_is_not_answered_in(store: StateStore) -> None:
    await store.record_question(question(outcome="answered", thread_ts="1764147600.000200"))
    assert await store.answered_in_thread("C_GENERAL", THREAD) is False


async def test_other_channel_same_thread_ts_is_not_answered_in(store: StateStore) -> None:
    await store.record_question(question(outcome="answered", thread_ts=THREAD))
    assert await store.answered_in_thread("C_RANDOM", THREAD) is False


async def test_answered_in_thread_of_an_empty_channel_raises_value_error(
    store: StateStore,
) -> None:
    with pytest.raises(ValueError, match="channel must be a Slack channel id"):
        await store.answered_in_thread("", THREAD)


async def test_answered_in_thread_of_an_empty_thread_ts_raises_value_error(
    store: StateStore,
) -> None:
    with pytest.raises(ValueError, match="thread_ts must be a Slack message timestamp"):
        await store.answered_in_thread("C_GENERAL", "")


def test_question_with_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        question(asked_at=START.replace(tzinfo=None))


# Feedback


async def test_later_vote_of_a_user_replaces_the_earlier(
    store: StateStore, clock: FakeClock
) -> None:
    question_id = await store.record_question(question())
    await store.record_feedback(question_id, "U_BOB", "up")
    clock.advance(30)
    await store.record_feedback(question_id, "U_BOB", "down")
    assert await store.feedback_since(START) == [
        FeedbackRecord(question_id, "U_BOB", "down", START + timedelta(seconds=30))
    ]


async def test_votes_of_different_users_are_kept_apart(store: StateStore) -> None:
    question_id = await store.record_question(question())
    await store.record_feedback(question_id, "U_BOB", "up")
    await store.record_feedback(question_id, "U_CAROL", "down")
    assert [(f.user, f.value) for f in await store.feedback_since(START)] == [
        ("U_BOB", "up"),
        ("U_CAROL", "down"),
    ]


async def test_vote_on_an_unknown_question_raises_lookup_error(store: StateStore) -> None:
    with pytest.raises(LookupError, match="no question with id 404"):
        await store.record_feedback(404, "U_BOB", "up")


async def test_vote_other_than_up_or_down_raises_value_error(store: StateStore) -> None:
    question_id = await store.record_question(question())
    with pytest.raises(ValueError, match="'up' or 'down'"):
        await store.record_feedback(question_id, "U_BOB", "meh")


# Availability


async def test_open_store_answers_ping(store: StateStore) -> None:
    await store.ping()  # raises if it does not answer


async def test_ping_before_open_raises_backend_unavailable(backend: Backend) -> None:
    with pytest.raises(BackendUnavailable, match="not open"):
        await backend.new_store().ping()


async def test_opening_an_unreachable_store_raises_backend_unavailable(backend: Backend) -> None:
    with pytest.raises(BackendUnavailable, match="cannot"):
        await backend.unreachable_store().open()


async def test_closing_a_store_twice_is_harmless(store: StateStore) -> None:
    await store.close()
    await store.close()  # raises if it is not harmless


async def test_ping_raises_backend_unavailable_once_postgres_is_gone(
    postgres_proxy: tuple[TcpProxy, str],
) -> None:
    from ledger_bot.state.postgres import PostgresStateStore

    proxy, url = postgres_proxy
    store = PostgresStateStore(url, timeout_seconds=0.5)
    await store.open()
    await proxy.cut()
    try:
        with pytest.raises(BackendUnavailable, match="PostgreSQL state store failed"):
            await store.ping()
    finally:
        await store.close()


# Choosing the backend


def test_unset_url_builds_a_sqlite_store(tmp_path: Path) -> None:
    assert type(build_state_store(None, tmp_path / "state.db")) is SqliteStateStore


@pytest.mark.parametrize("url", ["postgresql://db/ledger", "postgres://db/ledger"])
def test_postgres_url_builds_a_postgres_store(url: str, tmp_path: Path) -> None:
    assert type(build_state_store(url, tmp_path / "state.db")).__name__ == "PostgresStateStore"


def test_unknown_url_scheme_raises_config_error_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="LEDGER_BOT_STATE_URL has scheme 'mysql://'"):
        build_state_store("mysql://db/ledger", tmp_path / "state.db")


# Retention of the question log


async def test_questions_before_the_cutoff_go_with_their_feedback(store: StateStore) -> None:
    old = await store.record_question(question(asked_at=START - timedelta(days=91)))
    kept = await store.record_question(question(asked_at=START - timedelta(days=89)))
    await store.record_feedback(old, "U_BOB", "down")
    await store.record_feedback(kept, "U_BOB", "up")
    assert await store.purge_questions(START - timedelta(days=90)) == 1
    assert await store.get_question(old) is None
    assert await store.get_question(kept) is not None
    assert [f.question_id for f in await store.feedback_since(START - timedelta(days=365))] == [
        kept
    ]


async def test_a_question_asked_at_the_cutoff_is_kept(store: StateStore) -> None:
    await store.record_question(question(asked_at=START))
    assert await store.purge_questions(START) == 0
    assert await store.purge_questions(START + timedelta(microseconds=1)) == 1


async def test_purging_questions_with_a_naive_cutoff_raises_value_error(store: StateStore) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await store.purge_questions(START.replace(tzinfo=None))
