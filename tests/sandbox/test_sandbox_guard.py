"""The sandbox keeps web pages out: control token, JSON-only writes, no cross-site or rebound requests."""

from __future__ import annotations

import httpx
from sandbox_harness import Sandbox

from sandbox.client import SandboxClient

MESSAGES = "/sandbox/api/users/901/messages"


async def test_control_api_needs_the_run_token(sandbox: Sandbox) -> None:
    """No token or a wrong one: 401 and nothing queued; the right one in the header works."""
    token = sandbox.app.state.control_token
    async with httpx.AsyncClient(base_url=sandbox.base_url) as http:
        missing = await http.post(MESSAGES, json={"text": "hi"})
        wrong = await http.post(MESSAGES, json={"text": "hi"}, headers={"X-Sandbox-Token": token + "x"})
        wrong_read = await http.get("/sandbox/api/state", params={"token": "nope"})
        assert (missing.status_code, wrong.status_code, wrong_read.status_code) == (401, 401, 401)
        assert sandbox.app.state.world.summary()["pending_updates"] == []
        sent = await http.post(MESSAGES, json={"text": "hi"}, headers={"X-Sandbox-Token": token})
        read = await http.get("/sandbox/api/state", params={"token": token})  # how the page's <img> tags read
    assert sent.status_code == 200 and read.status_code == 200
    assert read.json()["pending_updates"] == [sent.json()["update_id"]]


async def test_form_posts_are_refused_even_with_the_token(sandbox: Sandbox) -> None:
    """What an HTML form can send (text/plain, url-encoded) is not JSON: 415, nothing queued."""
    headers = {"X-Sandbox-Token": sandbox.app.state.control_token}
    async with httpx.AsyncClient(base_url=sandbox.base_url) as http:
        plain = await http.post(MESSAGES, content='{"text": "hi"}', headers={**headers, "Content-Type": "text/plain"})
        form = await http.post(MESSAGES, data={"text": "hi"}, headers=headers)
        reset = await http.post("/sandbox/api/reset", headers=headers)  # no body, no content type
    assert (plain.status_code, form.status_code, reset.status_code) == (415, 415, 415)
    assert sandbox.app.state.world.summary()["pending_updates"] == []


async def test_cross_site_browser_requests_are_refused(sandbox: Sandbox) -> None:
    """Fetch Metadata or an Origin from another site: 403, also on the Bot API with its public token."""
    token = sandbox.app.state.control_token
    evil = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"}
    async with httpx.AsyncClient(base_url=sandbox.base_url) as http:
        control = await http.post(MESSAGES, json={"text": "hi"}, headers={**evil, "X-Sandbox-Token": token})
        bot_api = await http.get("/bot123456789:sandbox-test-token/setWebhook",
                                 params={"url": "https://evil.example/steal"}, headers={"Sec-Fetch-Site": "cross-site"})
        origin_only = await http.post(MESSAGES, json={"text": "hi"},
                                      headers={"Origin": "http://localhost:1", "X-Sandbox-Token": token})
        # Following a link to the chat page from elsewhere still opens it.
        page = await http.get("/", headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"})
        own_page = await http.post(MESSAGES, json={"text": "hi"}, headers={
            "Origin": sandbox.base_url, "Sec-Fetch-Site": "same-origin", "X-Sandbox-Token": token})
    assert (control.status_code, bot_api.status_code, origin_only.status_code) == (403, 403, 403)
    assert sandbox.app.state.world.webhook.url == ""
    assert page.status_code == 200 and own_page.status_code == 200


async def test_rebound_host_names_are_refused(sandbox: Sandbox) -> None:
    """DNS rebinding: a request naming another host (the attacker's domain) gets 400, even for the page."""
    async with httpx.AsyncClient(base_url=sandbox.base_url) as http:
        rebound = await http.get("/", headers={"Host": "evil.example"})
        local = await http.get("/", headers={"Host": "localhost"})
    assert rebound.status_code == 400 and local.status_code == 200


async def test_the_chat_page_carries_the_token_and_the_client_finds_it(sandbox: Sandbox) -> None:
    """The page a new user opens has the run's token (and is never cached); a client without one reads it there."""
    token = sandbox.app.state.control_token
    async with httpx.AsyncClient(base_url=sandbox.base_url) as http:
        page = await http.get("/")
    assert f'content="{token}"' in page.text and "__SANDBOX_CONTROL_TOKEN__" not in page.text
    assert page.headers["cache-control"] == "no-store" and "frame-ancestors 'none'" in page.headers[
        "content-security-policy"]
    async with SandboxClient(sandbox.base_url) as client:
        sent = await client.send_text(902, "hello")
    assert sent["update_id"] in sandbox.app.state.world.summary()["pending_updates"]
