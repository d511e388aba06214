"""The doors between our processes are locked: Rasa's API and the bot's channel need Rasa's token, the action
server needs its shared secret, and the real processes, started as `parceldesk run` starts them, use both."""

from __future__ import annotations

import httpx

from core.tokens import ACTION_TOKEN_HEADER, action_token, rasa_token
from tests.e2e.harness import Stack


def test_rasa_api_and_channel_refuse_calls_without_the_token(stack: Stack) -> None:
    """No token or a wrong one: 401 on the API (status, tracker, resume events, PUT /model) and on the channel."""
    settings = stack.settings
    token = rasa_token(settings)
    sender = "tg-424242"
    calls = [
        ("GET", "/status", None),
        ("GET", f"/conversations/{sender}/tracker", None),
        ("POST", f"/conversations/{sender}/tracker/events", [{"event": "resume"}]),
        ("PUT", "/model", {"model_file": "/tmp/not-a-model.tar.gz"}),
        ("POST", "/model/parse", {"text": "hi"}),
        ("POST", "/webhooks/parceldesk/webhook", {"sender": sender, "message": "hi", "metadata": {}}),
    ]
    with httpx.Client(base_url=settings.effective_rasa_url, timeout=30) as rasa:
        for method, path, body in calls:
            for params in ({}, {"token": token + "x"}):
                response = rasa.request(method, path, json=body, params=params)
                assert response.status_code == 401, (method, path, params, response.text[:200])
        # Nothing reached the conversation: no message, no resume (reading it opens a session, nothing more).
        events = rasa.get(f"/conversations/{sender}/tracker", params={"token": token}).json()["events"]
        assert {event["event"] for event in events} <= {"action", "session_started"}, events
        assert rasa.get("/status", params={"token": token}).status_code == 200
        # Rasa's stock REST channel (unauthenticated) is not mounted any more.
        assert rasa.post("/webhooks/rest/webhook", json={"sender": sender, "message": "hi"}).status_code == 404


def test_action_server_refuses_calls_without_the_secret(stack: Stack) -> None:
    """The action server answers 401 without the shared secret or with a wrong one; /health stays open."""
    settings = stack.settings
    base = settings.action_server_url.removesuffix("/webhook")
    call = {"next_action": "action_greet", "sender_id": "tg-1", "version": "3.6.21",
            "tracker": {"sender_id": "tg-1", "slots": {}, "latest_message": {}, "events": []}, "domain": {}}
    with httpx.Client(base_url=base, timeout=30) as actions:
        for headers in ({}, {ACTION_TOKEN_HEADER: action_token(settings) + "x"}):
            assert actions.post("/webhook", json=call, headers=headers).status_code == 401
            assert actions.get("/actions", headers=headers).status_code == 401
        assert actions.get("/health").status_code == 200
        listed = actions.get("/actions", headers={ACTION_TOKEN_HEADER: action_token(settings)})
    assert listed.status_code == 200 and {"name": "action_greet"} in listed.json()
