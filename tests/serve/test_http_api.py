import httpx
import pytest

from ledger_bot.http_api import CheckResult, Readiness, build_http_app
from ledger_bot.metrics import Metrics


def client(readiness: Readiness | None = None, metrics: Metrics | None = None) -> httpx.AsyncClient:
    app = build_http_app(metrics or Metrics(), readiness or Readiness())
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bot")


async def passing() -> CheckResult:
    return CheckResult(True, "42 documents")


async def failing() -> CheckResult:
    return CheckResult(False, "the first index is not done")


async def raising() -> CheckResult:
    raise ConnectionError("connection refused")


async def test_health_answers_200() -> None:
    async with client() as http:
        response = await http.get("/health")
    assert (response.status_code, response.json()["status"]) == (200, "ok")


async def test_ready_is_200_when_every_check_passes() -> None:
    readiness = Readiness()
    readiness.add("knowledge_base", passing)
    async with client(readiness) as http:
        response = await http.get("/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"knowledge_base": {"state": "ok", "detail": "42 documents"}},
    }


async def test_ready_is_503_and_names_the_failing_check() -> None:
    readiness = Readiness()
    readiness.add("knowledge_base", failing)
    readiness.add("state_store", passing)
    async with client(readiness) as http:
        response = await http.get("/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["knowledge_base"] == {
        "state": "failing",
        "detail": "the first index is not done",
    }


async def test_check_that_raises_fails_with_the_error() -> None:
    readiness = Readiness()
    readiness.add("state_store", raising)
    async with client(readiness) as http:
        response = await http.get("/ready")
    assert response.json()["checks"]["state_store"]["detail"] == (
        "ConnectionError: connection refused"
    )


async def test_degraded_optional_dependency_is_reported_but_not_fatal() -> None:
    async def degraded() -> CheckResult:
        return CheckResult(False, "circuit open", required=False)

    readiness = Readiness()
    readiness.add("llm", degraded)
    async with client(readiness) as http:
        response = await http.get("/ready")
    assert response.status_code == 200
    assert response.json()["checks"]["llm"]["state"] == "degraded"


async def test_metrics_are_prometheus_text() -> None:
    async with client() as http:
        response = await http.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    assert "ledger_bot_questions_total" in response.text


async def test_requests_are_counted_by_route_and_status() -> None:
    metrics = Metrics()
    async with client(metrics=metrics) as http:
        await http.get("/health")
        await http.get("/nope")
    sample = metrics.registry.get_sample_value
    assert sample("ledger_bot_http_requests_total", {"path": "/health", "status": "200"}) == 1
    assert sample("ledger_bot_http_requests_total", {"path": "other", "status": "404"}) == 1


@pytest.mark.parametrize("method", ["POST", "DELETE"])
async def test_wrong_method_is_405(method: str) -> None:
    async with client() as http:
        response = await http.request(method, "/health")
    assert response.status_code == 405
