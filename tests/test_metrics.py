import os
import platform
import shutil
import subprocess

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ledger_bot import __version__
from ledger_bot.metrics import Metrics

FAMILIES = {
    "ledger_bot_questions": "counter",
    "ledger_bot_questions_in_flight": "gauge",
    "ledger_bot_answer_duration_seconds": "histogram",
    "ledger_bot_retrieval_duration_seconds": "histogram",
    "ledger_bot_feedback": "counter",
    "ledger_bot_state_store_errors": "counter",
    "ledger_bot_knowledge_base_documents": "gauge",
    "ledger_bot_knowledge_base_chunks": "gauge",
    "ledger_bot_knowledge_base_last_index_timestamp_seconds": "gauge",
    "ledger_bot_knowledge_base_sync": "counter",
    "ledger_bot_knowledge_base_last_sync_timestamp_seconds": "gauge",
    "ledger_bot_build_info": "gauge",
    "ledger_bot_http_requests": "counter",
}


def exercised() -> Metrics:
    """Metrics with a sample in every family, as after a little real traffic."""
    metrics = Metrics()
    metrics.questions_total.labels(surface="slack", outcome="answered").inc()
    metrics.questions_in_flight.inc()
    metrics.answer_duration_seconds.labels(mode="extractive").observe(0.042)
    metrics.retrieval_duration_seconds.observe(0.0012)
    metrics.feedback_total.labels(value="up").inc()
    metrics.state_store_errors_total.labels(operation="record_question").inc()
    metrics.knowledge_base_documents.set(42)
    metrics.knowledge_base_chunks.set(1234)
    metrics.knowledge_base_last_index_timestamp_seconds.set(1_714_560_000)
    metrics.knowledge_base_sync_total.labels(outcome="ok").inc()
    metrics.knowledge_base_last_sync_timestamp_seconds.set(1_714_560_060)
    metrics.http_requests_total.labels(path="/metrics", status="200").inc()
    return metrics


def families(metrics: Metrics) -> dict[str, str]:
    body, _ = metrics.render()
    return {f.name: f.type for f in text_string_to_metric_families(body.decode())}


def sample_value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_render_has_every_family_with_its_type() -> None:
    rendered = families(exercised())
    assert {name: rendered.get(name) for name in FAMILIES} == FAMILIES


def test_render_returns_the_text_exposition_content_type() -> None:
    _, content_type = Metrics().render()
    assert content_type.startswith("text/plain; version=")


def test_counter_increments() -> None:
    metrics = Metrics()
    metrics.questions_total.labels(surface="slack", outcome="answered").inc()
    metrics.questions_total.labels(surface="slack", outcome="answered").inc()
    assert (
        sample_value(metrics, "ledger_bot_questions_total", surface="slack", outcome="answered")
        == 2.0
    )


def test_question_series_exist_at_zero_before_any_question() -> None:
    metrics = Metrics()
    assert (
        sample_value(metrics, "ledger_bot_questions_total", surface="mcp", outcome="rate_limited")
        == 0.0
    )


def test_feedback_and_sync_series_exist_at_zero() -> None:
    metrics = Metrics()
    values = [
        sample_value(metrics, "ledger_bot_feedback_total", value="down"),
        sample_value(metrics, "ledger_bot_knowledge_base_sync_total", outcome="failed"),
    ]
    assert values == [0.0, 0.0]


def test_two_instances_count_independently() -> None:
    first, second = Metrics(), Metrics()
    first.feedback_total.labels(value="up").inc()
    assert sample_value(second, "ledger_bot_feedback_total", value="up") == 0.0


def test_build_info_names_version_and_python() -> None:
    metrics = Metrics()
    assert (
        sample_value(
            metrics,
            "ledger_bot_build_info",
            version=__version__,
            python=platform.python_version(),
        )
        == 1.0
    )


def test_set_build_info_replaces_the_version() -> None:
    metrics = Metrics()
    metrics.set_build_info("9.9.9", python="3.11.0")
    body, _ = metrics.render()
    assert body.decode().count("ledger_bot_build_info{") == 1
    assert sample_value(metrics, "ledger_bot_build_info", version="9.9.9", python="3.11.0") == 1.0


def test_answer_duration_buckets_span_5_ms_to_30_s() -> None:
    metrics = exercised()
    bounds = [
        float(sample.labels["le"])
        for family in text_string_to_metric_families(metrics.render()[0].decode())
        if family.name == "ledger_bot_answer_duration_seconds"
        for sample in family.samples
        if sample.name.endswith("_bucket")
    ]
    assert (bounds[0], bounds[-2]) == (0.005, 30.0)


def test_promtool_accepts_the_rendered_metrics() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is required in CI: apt-get install -y prometheus")
        pytest.skip("promtool not installed (apt-get install prometheus); required when CI is set")
    body, _ = exercised().render()
    result = subprocess.run(
        [promtool, "check", "metrics"], input=body, capture_output=True, timeout=30, check=False
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, b"")
