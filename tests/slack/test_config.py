"""Slack settings and credentials: bad values are refused at start with the variable to fix."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ledger_bot.errors import ConfigError, MissingExtra
from ledger_bot.server import build_slack_adapter
from ledger_bot.service import LedgerBotService, build_service
from ledger_bot.settings import Settings, load_settings
from ledger_bot.slack.adapter import SlackSecrets, check_credentials


def slack_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "slack_bot_token": "xoxb-1",
        "slack_app_token": "xapp-1",
        "slack_signing_secret": "s3cret",
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
def service(sample_db: Path) -> LedgerBotService:
    return build_service(load_settings(db=sample_db))


def test_slack_tokens_are_read_from_slacks_own_variable_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-env")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-from-env")
    settings = load_settings()
    tokens = (settings.slack_bot_token, settings.slack_app_token)
    assert tokens == ("xoxb-from-env", "xapp-from-env")


def test_the_prefixed_variable_wins_over_slacks_own_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-plain")
    monkeypatch.setenv("LEDGER_BOT_SLACK_BOT_TOKEN", "xoxb-prefixed")
    assert load_settings().slack_bot_token == "xoxb-prefixed"


@pytest.mark.parametrize(
    ("setting", "value", "variable"),
    [
        ("slack_mode", "webhook", "LEDGER_BOT_SLACK_MODE"),
        ("slack_command", "ledger", "LEDGER_BOT_SLACK_COMMAND"),
        ("slack_command", "/Ledger Bot", "LEDGER_BOT_SLACK_COMMAND"),
        ("slack_api_url", "slack.example.com/api", "LEDGER_BOT_SLACK_API_URL"),
        ("slack_escalation_usergroup", "@oncall", "LEDGER_BOT_SLACK_ESCALATION_USERGROUP"),
        ("slack_thread_history", "0", "LEDGER_BOT_SLACK_THREAD_HISTORY"),
    ],
)
def test_bad_slack_setting_names_the_variable(setting: str, value: str, variable: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        load_settings(**{setting: value})


def test_api_url_gets_its_trailing_slash() -> None:
    assert load_settings(slack_api_url="http://127.0.0.1:9/api").slack_api_url == (
        "http://127.0.0.1:9/api/"
    )


def test_lists_are_split_on_commas_and_prompts_on_bars() -> None:
    settings = load_settings(
        slack_allowed_channels="C1, C2,", slack_suggested_prompts="Why, though?|How?"
    )
    assert settings.slack_allowed_channels == ("C1", "C2")
    assert settings.slack_suggested_prompts == ("Why, though?", "How?")


def test_a_user_token_is_refused_as_the_bot_token() -> None:
    settings = slack_settings(slack_bot_token="xoxp-123")
    with pytest.raises(ConfigError, match="xoxb-"):
        check_credentials(settings, SlackSecrets(settings))


def test_socket_mode_without_an_app_token_says_what_to_set() -> None:
    settings = slack_settings(slack_app_token="")
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN"):
        check_credentials(settings, SlackSecrets(settings))


def test_an_app_token_of_the_wrong_kind_is_refused() -> None:
    settings = slack_settings(slack_app_token="xoxb-2")
    with pytest.raises(ConfigError, match="xapp-"):
        check_credentials(settings, SlackSecrets(settings))


def test_http_mode_without_a_signing_secret_says_what_to_set() -> None:
    settings = slack_settings(slack_mode="http", slack_signing_secret="")
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        check_credentials(settings, SlackSecrets(settings))


def test_bot_token_from_a_mounted_file_is_used(tmp_path: Path) -> None:
    token_file = tmp_path / "bot-token"
    token_file.write_text("xoxb-from-file\n")
    settings = slack_settings(slack_bot_token=None, slack_bot_token_file=token_file)
    assert SlackSecrets(settings).bot_token.require() == "xoxb-from-file"


def test_no_bot_token_means_no_slack_adapter(service: LedgerBotService) -> None:
    assert build_slack_adapter(load_settings(), service) is None


def test_missing_slack_extra_names_the_extra_to_install(
    service: LedgerBotService, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if slack_bolt were not installed: importing it (or any of its modules) fails.
    monkeypatch.setitem(sys.modules, "slack_bolt", None)
    for name in list(sys.modules):
        if name.startswith("slack_bolt."):
            monkeypatch.setitem(sys.modules, name, None)
    for name in ("adapter", "listeners", "turns", "api"):
        monkeypatch.delitem(sys.modules, f"ledger_bot.slack.{name}", raising=False)
    with pytest.raises(MissingExtra, match=r"ledger-bot\[slack\]"):
        build_slack_adapter(slack_settings(), service)
