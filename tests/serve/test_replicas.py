"""Two ``serve`` processes sharing PostgreSQL enforce one set of rate limits."""

import json
import subprocess
from pathlib import Path

from tests.serve.test_serve import CLI, serve_env


def test_rate_limit_holds_across_two_processes(tmp_path: Path, postgres_url: str) -> None:
    questions = "idempotency key retention\n" * 4
    env = {
        "LEDGER_BOT_STATE_URL": postgres_url,
        "LEDGER_BOT_USER_BURST": "3",
        "LEDGER_BOT_USER_RATE_PER_MINUTE": "0.001",
    }
    replicas = [
        subprocess.Popen(
            [*CLI, "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=serve_env(tmp_path / name, **env),
        )
        for name in ("a", "b")
    ]
    outcomes = []
    for replica in replicas:
        out, err = replica.communicate(questions, timeout=60)
        assert replica.returncode == 0, err
        outcomes += [json.loads(line)["outcome"] for line in out.splitlines()]
    assert sorted(outcomes) == ["answered"] * 3 + ["rate_limited"] * 5
