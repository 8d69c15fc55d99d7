"""Secrets are replaced by a marker naming their kind; everything else is left as it was.

The fake credentials are assembled from two pieces so that secret scanners (GitHub push
protection, gitleaks) do not mistake this file for a leak.
"""

import time

import pytest

from ledger_bot.redaction import contains_secret, redact

SLACK_BOT_TOKEN = "xoxb-" + "2712345678901-2798765432109-Hq3zXbLwQ8nTfR2yK9vUcM4e"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    + ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkphbmUgRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
    + ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
RSA_KEY = (
    "-----BEGIN RSA " + "PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
    "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n"
    "LxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW/VDL5AaWTg0nLVkjRo\n"
    "9z+40RQzuVaE8AkAFmxZzow3x+VJYKdjykkJ0iT9wCS0DRTXu269V264Vf/3jvre\n"
    "-----END RSA PRIVATE KEY-----"
)

# Every kind of secret, as it might appear in a question or a log line.
SECRET_SAMPLES = [
    f"the bot token is {SLACK_BOT_TOKEN}",
    "SLACK_APP_TOKEN=xapp-" + "1-A0123456789-4123456789012-0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    "webhook https://hooks.slack.com/services/" + "T0123ABCD/B0456EFGH/Xk9pL2mQ7rT4vW8yZ1aB3cD5",
    "aws_access_key_id = AKIA" + "ZQ3DPLV7K2MRX4NB",
    "aws_secret_access_key=" + "Jx8vQk2Lp9Rt4Wm7Yb3Nc6Hf1Gd5Sa0Ze8Xu2I/+",
    "git clone https://ghp_" + "R4nD0mL00k1ngT0k3nV4lu3F0rT3st1ng9Xy@github.com/acme/app",
    "OPENAI_API_KEY is sk-proj-" + "Xq7Lm2Nv9Bc4Kd8Wf1Hj6Tp3Rs5Gy0Za",
    "ANTHROPIC_API_KEY is sk-ant-api03-" + "Zk8Qw2Er7Ty4Ui9Op1As6Df3Gh5Jk0Lz-AbCdEf",
    "curl -H 'Authorization: Bearer 8c4f2a9e71d3b6f0a5c8e2d4b7f1a3c9'",
    "password=Tr0ub4dor&3",
    f"here is the key:\n{RSA_KEY}\nthat was it",
    f"my session is {JWT}, is it expired?",
    "DATABASE_URL=postgres://ledger:S3cretPassw0rd@db.internal:5432/ledger",
]


@pytest.mark.parametrize(
    "token",
    [
        SLACK_BOT_TOKEN,
        "xoxp-" + "2712345678901-2712345678902-2798765432109-4f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "xoxa-" + "2-2712345678901-2798765432109-4f1e2d3c4b5a6978",
        "xoxr-" + "2712345678901-2798765432109-Hq3zXbLwQ8nTfR2y",
        "xoxs-" + "2712345678901-2798765432109-Hq3zXbLwQ8nTfR2y",
        "xapp-" + "1-A0123456789-4123456789012-0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "xoxe.xoxp-" + "1-Mi0yLTI3MTIzNDU2Nzg5MDEtMjc5ODc2NTQzMjEwOQ",
        "xoxe-" + "1-My0xLTI3MTIzNDU2Nzg5MDEtNDEyMzQ1Njc4OTAxMg",
    ],
)
def test_slack_token_is_redacted(token: str) -> None:
    assert redact(f"token {token} leaked") == "token [redacted:slack-token] leaked"


def test_slack_webhook_url_is_redacted() -> None:
    text = (
        "post to https://hooks.slack.com/services/" + "T0123ABCD/B0456EFGH/Xk9pL2mQ7rT4vW8yZ1aB3cD5"
    )
    assert redact(text) == "post to [redacted:slack-webhook]"


@pytest.mark.parametrize("key_id", ["AKIA" + "ZQ3DPLV7K2MRX4NB", "ASIA" + "4TQ7WXKZ2LMN8RPB"])
def test_aws_access_key_id_is_redacted(key_id: str) -> None:
    assert redact(f"id {key_id} in use") == "id [redacted:aws-access-key-id] in use"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "aws_secret_access_key = " + "Jx8vQk2Lp9Rt4Wm7Yb3Nc6Hf1Gd5Sa0Ze8Xu2I/+",
            "aws_secret_access_key = [redacted:aws-secret-key]",
        ),
        (
            'AWS_SECRET_ACCESS_KEY="' + 'Jx8vQk2Lp9Rt4Wm7Yb3Nc6Hf1Gd5Sa0Ze8Xu2I/+"',
            'AWS_SECRET_ACCESS_KEY="[redacted:aws-secret-key]"',
        ),
        (
            '{"SecretAccessKey": "' + 'Jx8vQk2Lp9Rt4Wm7Yb3Nc6Hf1Gd5Sa0Ze8Xu2I/+"}',
            '{"SecretAccessKey": "[redacted:aws-secret-key]"}',
        ),
    ],
)
def test_labelled_aws_secret_key_is_redacted(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "token",
    [
        "ghp_" + "R4nD0mL00k1ngT0k3nV4lu3F0rT3st1ng9Xy",
        "gho_" + "R4nD0mL00k1ngT0k3nV4lu3F0rT3st1ng9Xy",
        "ghu_" + "R4nD0mL00k1ngT0k3nV4lu3F0rT3st1ng9Xy",
        "ghs_" + "R4nD0mL00k1ngT0k3nV4lu3F0rT3st1ng9Xy",
        "ghr_" + "R4nD0mL00k1ngT0k3nV4lu3F0rT3st1ng9Xy",
        "github_pat_"
        + "11AB3CDEF0q7Lm2Nv9Bc4K_d8Wf1Hj6Tp3Rs5Gy0ZaXq7Lm2Nv9Bc4Kd8Wf1Hj6Tp3Rs5Gy0Za1b2",
    ],
)
def test_github_token_is_redacted(token: str) -> None:
    assert redact(f"GITHUB_TOKEN: '{token}'") == "GITHUB_TOKEN: '[redacted:github-token]'"


@pytest.mark.parametrize(
    "key",
    [
        "sk-proj-" + "Xq7Lm2Nv9Bc4Kd8Wf1Hj6Tp3Rs5Gy0Za_T3BlbkFJ-Qw2Er7Ty4Ui9",
        "sk-" + "Xq7Lm2Nv9Bc4Kd8Wf1Hj6Tp3Rs5Gy0ZaQw2Er7Ty4Ui9Op1A",
    ],
)
def test_openai_style_key_is_redacted(key: str) -> None:
    assert redact(f"use {key} for now") == "use [redacted:api-key] for now"


def test_anthropic_key_is_redacted() -> None:
    key = "sk-ant-api03-" + "Zk8Qw2Er7Ty4Ui9Op1As6Df3Gh5Jk0Lz-AbCdEf_x1Y2z3-AAAA"
    assert (
        redact(f"client = Anthropic({key!r})") == "client = Anthropic('[redacted:anthropic-key]')"
    )


def test_bearer_token_is_redacted() -> None:
    text = (
        "curl -H 'Authorization: Bearer 8c4f2a9e71d3b6f0a5c8e2d4b7f1a3c9' https://api.example.com"
    )
    assert redact(text) == (
        "curl -H 'Authorization: Bearer [redacted:bearer-token]' https://api.example.com"
    )


def test_basic_auth_header_is_redacted() -> None:
    text = "Authorization: Basic bGVkZ2VyOmh1bnRlcjI="
    assert redact(text) == "Authorization: Basic [redacted:basic-auth]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("api_key=4f1e2d3c4b5a6978", "api_key=[redacted:secret]"),
        (
            "https://x.test/feed?token=q8Zr2Lk5&page=2",
            "https://x.test/feed?token=[redacted:secret]&page=2",
        ),
        ("DB_PASSWORD=Tr0ub4dor&3", "DB_PASSWORD=[redacted:password]&3"),
        ("password = 'correct horse battery staple'", "password = '[redacted:password]'"),
        ('{"client_secret": "d41d8cd98f00b204"}', '{"client_secret": "[redacted:secret]"}'),
        ("secret: 9f8e7d6c5b4a", "secret: [redacted:secret]"),
        ("db:\n  password: correcthorse\n", "db:\n  password: [redacted:password]\n"),
    ],
)
def test_secret_key_value_pair_is_redacted(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "block",
    [
        RSA_KEY,
        "-----BEGIN OPENSSH "
        + "PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAAB\n"
        "AAAAMwAAAAtzc2gtZWQyNTUxOQAAACBzLWQ3bCVrSzgXSQ1JDm2mVHp4bKuB8xsKkAhI\n"
        "-----END OPENSSH PRIVATE KEY-----",
        "-----BEGIN EC " + "PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,"
        "0F1E2D3C4B5A69788796A5B4C3D2E1F0\n\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oDCWCd/LdJtw\n"
        "-----END EC PRIVATE KEY-----",
    ],
)
def test_pem_private_key_block_is_redacted(block: str) -> None:
    assert redact(f"key:\n{block}\nend") == "key:\n[redacted:private-key]\nend"


def test_private_key_with_escaped_newlines_in_json_is_redacted() -> None:
    text = (
        '{"type": "service_account", "private_key": "-----BEGIN '
        + "PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\\n"
        '-----END PRIVATE KEY-----\\n"}'
    )
    assert redact(text) == (
        '{"type": "service_account", "private_key": "[redacted:private-key]\\n"}'
    )


def test_private_key_cut_short_is_redacted_as_far_as_it_goes() -> None:
    text = RSA_KEY.split("\n-----END")[0] + "\n(the rest did not fit)"
    assert redact(text) == "[redacted:private-key]\n(the rest did not fit)"


def test_jwt_is_redacted() -> None:
    assert redact(f"my session is {JWT}, is it expired?") == (
        "my session is [redacted:jwt], is it expired?"
    )


def test_password_in_url_is_redacted_keeping_user_and_host() -> None:
    text = "connect to postgres://ledger:S3cretPassw0rd@db.internal:5432/ledger"
    assert (
        redact(text) == "connect to postgres://ledger:[redacted:password]@db.internal:5432/ledger"
    )


@pytest.mark.parametrize(
    "text",
    [
        "Fixed in 3f786850e387550fdab836ed7e6dc881de23001b, see PR #412.",
        "The request id was 123e4567-e89b-12d3-a456-426614174000.",
        "How do I trigger a password reset for a contractor? The password: reset page 404s.",
        "Password: at least 12 characters, and the token expires after 90 days.",
        "```\ndata: eyJmb28iOiJiYXIifQ==\nchecksum: dGhpcyBpcyBub3QgYSBzZWNyZXQ=\n```",
        "Bearer tokens go in the `Authorization` header; see the bearer authentication docs.",
        "## Rotating keys\n\n1. Run `make rotate`.\n2. **Password** field: leave empty.\n"
        "3. See [the runbook](https://wiki.example.com/runbooks/rotate-keys#step-2).",
        "password = get_password()\ntoken = None\nsecret = os.environ['SECRET']",
        "export DB_PASSWORD=${DB_PASSWORD}  # set token=<your-token>",
        "max_tokens=512, tokenizer=cl100k, pip install scikit-learn; ask-sk-learn-users",
        "Clone git@github.com:acme/app.git or https://github.com/acme/app.git",
        "Listen on http://[::1]:8080/health and http://localhost:8080/ready",
        "AKIA is the prefix of AWS access key ids; akiaq3dplv7k2mrx4nbz is not one.",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize("text", SECRET_SAMPLES)
def test_redacting_twice_changes_nothing_more(text: str) -> None:
    once = redact(text)
    assert redact(once) == once


def test_contains_secret_finds_a_token() -> None:
    assert contains_secret(f"here: {SLACK_BOT_TOKEN}")


def test_contains_secret_is_false_for_ordinary_and_redacted_text() -> None:
    assert not contains_secret("How do I reset my password? [redacted:slack-token]")


def test_every_sample_is_found() -> None:
    assert [text for text in SECRET_SAMPLES if not contains_secret(text)] == []


def test_a_megabyte_never_backtracks_for_long() -> None:
    # Not a benchmark (typical: ~30 ms): a guard against a pattern that backtracks without
    # bound, which would take seconds or minutes here.
    prose = "The token rotation runbook: see https://wiki.example.com/x password reset key. "
    texts = [
        ((prose + " ".join(SECRET_SAMPLES)) * 600)[:1_000_000],
        "-----BEGIN RSA " + "PRIVATE KEY-----\n" + "word " * 200_000,
        "token=" * 170_000,
        "sk-" + "a" * 1_000_000,
        "x://" + "a" * 1_000_000,
    ]
    for text in texts:
        started = time.perf_counter()
        redact(text)
        assert time.perf_counter() - started < 1.0
