"""manifest.yaml says to Slack what bot/slack/ registers: commands, shortcuts, events, one request URL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from bot.slack import actions, commands, events, shortcuts, views
from bot.slack.app import PATH
from bot.slack.blocks import new_ticket_modal, resolve_modal
from bot.slack.ids import ActionId, Callback
from bot.view import BUTTONS
from tests.bot.slack.conftest import Slack

MANIFEST = Path(__file__).parents[3] / "manifest.yaml"
SCOPES = {"commands", "chat:write", "chat:write.public", "im:write", "users:read", "reactions:read",
          "channels:history", "groups:history"}


def manifest() -> dict[str, Any]:
    return dict(yaml.safe_load(MANIFEST.read_text()))


def test_manifest_declares_what_the_code_registers() -> None:
    # Given the manifest a user pastes into "Create app from manifest"
    m = manifest()
    features, settings = m["features"], m["settings"]

    # Then its slash commands, message shortcuts and bot events are exactly the ones the listeners register
    assert {c["command"] for c in features["slash_commands"]} == set(commands.COMMANDS)
    assert {s["callback_id"] for s in features["shortcuts"] if s["type"] == "message"} == set(shortcuts.SHORTCUTS)
    assert set(settings["event_subscriptions"]["bot_events"]) == set(events.EVENTS)
    # And every URL Slack will call is our one signed endpoint
    urls = [c["url"] for c in features["slash_commands"]]
    urls += [settings["interactivity"]["request_url"], settings["event_subscriptions"]["request_url"]]
    assert {urlparse(u).path for u in urls} == {PATH} and all(u.startswith("https://") for u in urls)
    assert settings["interactivity"]["is_enabled"] is True and settings["socket_mode_enabled"] is False
    # And it asks for the scopes the calls need, a bot user, and a long description Slack accepts
    assert SCOPES <= set(m["oauth_config"]["scopes"]["bot"])
    assert features["bot_user"]["display_name"]
    assert 175 <= len(m["display_information"]["long_description"]) <= 4000


def test_every_id_the_ui_sends_back_has_a_listener() -> None:
    # Buttons a card can carry in any status are registered actions; modals' callbacks are registered views
    shown = {ActionId.of(b) for buttons in BUTTONS.values() for b in buttons}
    assert shown <= set(actions.ACTIONS) and set(actions.ACTIONS) == set(ActionId)
    modals = {new_ticket_modal(None)["callback_id"], resolve_modal("T-1")["callback_id"]}
    assert modals == set(views.VIEWS)
    assert set(Callback) == set(views.VIEWS) | set(shortcuts.SHORTCUTS)


async def test_bolt_app_answers_every_registered_id(slack: Slack) -> None:
    # Given the running bolt app: one listener per registered id
    registered = (len(commands.COMMANDS) + len(actions.ACTIONS) + len(views.VIEWS) + len(shortcuts.SHORTCUTS)
                  + len(events.EVENTS))
    assert len(slack.bot.bolt._async_listeners) == registered  # noqa: SLF001

    # When Slack sends each command, action, view, shortcut and event the manifest and cards can produce
    answers = [await slack.command("help")]
    answers += [await slack.click(action_id, "T-NONE", "UNOBODY") for action_id in actions.ACTIONS]
    answers += [await slack.submit(callback, {}, user="UNOBODY", metadata="T-NONE") for callback in views.VIEWS]
    for callback in shortcuts.SHORTCUTS:
        answers.append(await slack.interact({
            "type": "message_action", "callback_id": callback, "trigger_id": "t", "user": {"id": "UNOBODY"},
            "channel": {"id": "C9"}, "team": {"id": "T1"}, "response_url": slack.fake.response_url("s"),
            "message": {"type": "message", "ts": "1.2", "text": ""}}))
    for name in events.EVENTS:
        answers.append(await slack.event({"type": name, "user": "U1", "reaction": "eyes",
                                          "item": {"type": "message", "channel": "C9", "ts": "1.2"}},
                                         event_id=f"Ev-{name}"))
    await slack.settle()

    # Then none is unhandled (404), and none failed
    statuses = [(a.status, json.loads(await a.text() or "{}").get("error")) for a in answers]
    assert all(status == 200 for status, _ in statuses), statuses
