"""The Prometheus metrics of Ledger Bot, served at ``/metrics``.

Every collector lives on the registry of one :class:`Metrics` object rather than on
prometheus_client's global registry, so each service (and each test) counts on its own. Names
follow the Prometheus conventions: the ``ledger_bot_`` namespace, ``_total`` on counters, base
units (seconds) in the name.

To add a metric, add an attribute in :meth:`Metrics.__init__` built with ``self._counter``,
``self._gauge`` or ``self._histogram``, which fill in the namespace and the registry; a test
checks every family with the real ``promtool``.
"""

from __future__ import annotations

import platform
from collections.abc import Sequence

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    generate_latest,
)

from ledger_bot import __version__
from ledger_bot.state import base as state_values

__all__ = ["ANSWER_BUCKETS", "OUTCOMES", "RETRIEVAL_BUCKETS", "SURFACES", "Metrics"]

NAMESPACE = "ledger_bot"

# Where questions come from and how they end; their series exist (at 0) from the start, so
# that rate() and alerts on them work before the first question of each kind.
SURFACES = tuple(sorted(state_values.SURFACES))
OUTCOMES = tuple(sorted(state_values.OUTCOMES - {"pending"}))  # pending is not an ending
FEEDBACK_VALUES = tuple(sorted(state_values.VOTES))
SYNC_OUTCOMES = ("ok", "failed")

# Answers take from a few milliseconds (extractive) to tens of seconds (a slow LLM).
ANSWER_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0)
# Retrieval is one SQLite full-text query: well under a millisecond to about a second.
RETRIEVAL_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
)


class Metrics:
    """The collectors of one Ledger Bot process, on a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)

        # Questions
        self.questions_total = self._counter(
            "questions_total",
            "Questions received, by the surface they came from and how they ended.",
            ("surface", "outcome"),
        )
        self.questions_in_flight = self._gauge(
            "questions_in_flight", "Questions being answered right now."
        )
        self.answer_duration_seconds = self._histogram(
            "answer_duration_seconds",
            "Time from receiving a question to having its answer, by answering mode.",
            ("mode",),
            ANSWER_BUCKETS,
        )
        self.retrieval_duration_seconds = self._histogram(
            "retrieval_duration_seconds",
            "Time spent retrieving passages from the knowledge base for one question.",
            (),
            RETRIEVAL_BUCKETS,
        )
        self.feedback_total = self._counter(
            "feedback_total", "Votes on answers, by value (up or down).", ("value",)
        )
        self.state_store_errors_total = self._counter(
            "state_store_errors_total",
            "Failed calls to the state store (question log, rate limits), by operation.",
            ("operation",),
        )

        # Knowledge base
        self.knowledge_base_documents = self._gauge(
            "knowledge_base_documents", "Documents in the knowledge base."
        )
        self.knowledge_base_chunks = self._gauge(
            "knowledge_base_chunks", "Chunks (retrievable passages) in the knowledge base."
        )
        self.knowledge_base_last_index_timestamp_seconds = self._gauge(
            "knowledge_base_last_index_timestamp_seconds",
            "Unix time at which a document in the knowledge base was last indexed.",
        )
        self.canary_ok = self._gauge(
            "canary_ok",
            "1 when the canary question (LEDGER_BOT_CANARY_QUESTION) was last answered as "
            "expected, 0 when not; absent without a canary.",
        )
        self.canary_duration_seconds = self._gauge(
            "canary_duration_seconds", "Seconds the last asking of the canary question took."
        )
        self.knowledge_base_sync_total = self._counter(
            "knowledge_base_sync_total",
            "Knowledge base syncs with the sources, by outcome (ok or failed).",
            ("outcome",),
        )
        self.knowledge_base_last_sync_timestamp_seconds = self._gauge(
            "knowledge_base_last_sync_timestamp_seconds",
            "Unix time at which the last knowledge base sync ended, successfully or not.",
        )

        # Language model
        llm = ("provider", "model")
        self.llm_requests_total = self._counter(
            "llm_requests_total",
            "Calls to the language model, by provider, model and outcome (ok, error).",
            (*llm, "outcome"),
        )
        self.llm_errors_total = self._counter(
            "llm_errors_total",
            "Failed calls to the language model, by reason (timeout, rate_limited, …).",
            (*llm, "reason"),
        )
        self.llm_fallbacks_total = self._counter(
            "llm_fallbacks_total",
            "Answers given extractively instead of by the language model, by reason.",
            (*llm, "reason"),
        )
        self.llm_rewrites_total = self._counter(
            "llm_rewrites_total",
            "Questions whose search was run again with the words the language model gave for "
            "them, by outcome (searched, no_words, failed).",
            (*llm, "outcome"),
        )
        self.llm_tokens_total = self._counter(
            "llm_tokens_total",
            "Tokens sent to (input) and received from (output) the language model.",
            (*llm, "direction"),
        )
        self.llm_cost_usd_total = self._counter(
            "llm_cost_usd_total",
            "US dollars spent on the language model, from the price table.",
            llm,
        )
        self.llm_time_to_first_token_seconds = self._histogram(
            "llm_time_to_first_token_seconds",
            "Seconds from sending a prompt to the model's first words.",
            llm,
            ANSWER_BUCKETS,
        )

        # Slack
        self.slack_events_total = self._counter(
            "slack_events_total",
            "Slack events, commands and button clicks received, by kind and by what became of "
            "them (handled, duplicate, ignored, failed).",
            ("kind", "result"),
        )
        self.slack_api_errors_total = self._counter(
            "slack_api_errors_total",
            "Slack Web API calls that failed after their retries, by method and error.",
            ("method", "error"),
        )

        # Process
        self.build_info = Info(
            "build",
            "Version of Ledger Bot and of Python running it.",
            namespace=NAMESPACE,
            registry=self.registry,
        )
        self.http_requests_total = self._counter(
            "http_requests_total",
            "HTTP requests served, by route template (not raw path) and status code.",
            ("path", "status"),
        )

        for surface in SURFACES:
            for outcome in OUTCOMES:
                self.questions_total.labels(surface=surface, outcome=outcome)
        for value in FEEDBACK_VALUES:
            self.feedback_total.labels(value=value)
        for outcome in SYNC_OUTCOMES:
            self.knowledge_base_sync_total.labels(outcome=outcome)
        self.set_build_info(__version__)

    def set_build_info(self, version: str, python: str | None = None) -> None:
        """Label ``ledger_bot_build_info`` with ``version`` and the running Python's version."""
        self.build_info.info({"version": version, "python": python or platform.python_version()})

    def render(self) -> tuple[bytes, str]:
        """The body and content type of a ``/metrics`` response."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def _counter(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Counter:
        return Counter(name, documentation, labels, namespace=NAMESPACE, registry=self.registry)

    def _gauge(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Gauge:
        return Gauge(name, documentation, labels, namespace=NAMESPACE, registry=self.registry)

    def _histogram(
        self,
        name: str,
        documentation: str,
        labels: Sequence[str],
        buckets: Sequence[float],
    ) -> Histogram:
        return Histogram(
            name,
            documentation,
            labels,
            namespace=NAMESPACE,
            registry=self.registry,
            buckets=buckets,
        )
