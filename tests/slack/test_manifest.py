"""The Slack app manifest asks for exactly what the bot uses, and the setup guide names only
settings that exist."""

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from ledger_bot.settings import Settings, settings_table

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "slack" / "manifest.yaml"
GUIDE = ROOT / "docs" / "slack-setup.md"

BOT_SCOPES = {
    "app_mentions:read",
    "channels:history",
    "groups:history",
    "im:history",
    "chat:write",
    "commands",
    "assistant:write",
    "users:read",
}
BOT_EVENTS = {
    "app_mention",
    "message.channels",
    "message.groups",
    "message.im",
    "app_home_opened",
    "assistant_thread_started",
    "assistant_thread_context_changed",
}


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    return loaded


def test_manifest_requests_exactly_the_bot_scopes_used(manifest: dict[str, Any]) -> None:
    scopes = manifest["oauth_config"]["scopes"]
    assert sorted(scopes["bot"]) == sorted(BOT_SCOPES)
    assert set(scopes) == {"bot"}


def test_manifest_subscribes_to_exactly_the_bot_events_used(manifest: dict[str, Any]) -> None:
    events = manifest["settings"]["event_subscriptions"]
    assert sorted(events["bot_events"]) == sorted(BOT_EVENTS)
    assert set(events) == {"bot_events"}


def test_manifest_slash_command_is_the_default_command(manifest: dict[str, Any]) -> None:
    commands = [entry["command"] for entry in manifest["features"]["slash_commands"]]
    assert commands == ["/ledger"]
    assert commands == [Settings.model_fields["slack_command"].default]


def test_manifest_enables_socket_mode(manifest: dict[str, Any]) -> None:
    assert manifest["settings"]["socket_mode_enabled"] is True


def test_manifest_enables_interactivity(manifest: dict[str, Any]) -> None:
    assert manifest["settings"]["interactivity"] == {"is_enabled": True}


def test_manifest_enables_the_home_tab_and_direct_messages(manifest: dict[str, Any]) -> None:
    assert manifest["features"]["app_home"] == {
        "home_tab_enabled": True,
        "messages_tab_enabled": True,
        "messages_tab_read_only_enabled": False,
    }


def test_manifest_suggested_prompts_are_the_default_prompts(manifest: dict[str, Any]) -> None:
    prompts = manifest["features"]["assistant_view"]["suggested_prompts"]
    default = Settings.model_fields["slack_suggested_prompts"].default
    assert tuple(prompt["message"] for prompt in prompts) == default


def test_guide_names_only_settings_that_exist() -> None:
    named = set(re.findall(r"LEDGER_BOT_[A-Z0-9_]*[A-Z0-9]", GUIDE.read_text(encoding="utf-8")))
    assert {name for name in named if name.startswith("LEDGER_BOT_SLACK_")}
    assert named - {row.name for row in settings_table()} == set()


def test_guide_explains_every_scope() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    assert [scope for scope in sorted(BOT_SCOPES) if f"| `{scope}` |" not in guide] == []
