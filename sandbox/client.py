"""Async client for the sandbox control API, for tests that play the human side of a chat."""

from __future__ import annotations

import re
import time
from types import TracebackType
from typing import Any

import httpx

_PREFIX = "/sandbox/api"
_TOKEN_HEADER = "X-Sandbox-Token"
# The chat page carries the run's control token in <meta name="sandbox-token" content="…">.
_PAGE_TOKEN = re.compile(r'<meta name="sandbox-token" content="([^"]+)">')


class SandboxError(RuntimeError):
    """The control API refused a request (the message carries its description)."""


class WaitTimeout(AssertionError):
    """Fewer bot messages (or no edit) arrived in time; the message lists what did arrive."""


def _describe(messages: list[dict[str, Any]]) -> str:
    """One line per message, for timeout reports."""
    if not messages:
        return "  (none)"
    lines = []
    for message in messages:
        body = (
            message.get("text")
            or message.get("caption")
            or next(
                (key for key in ("photo", "document", "sticker", "voice", "contact") if key in message), "?"
            )
        )
        markup = message.get("reply_markup")
        suffix = f"  markup={markup}" if markup else ""
        lines.append(
            f"  #{message['message_id']} [{message.get('from', {}).get('first_name')}] {body!r}{suffix}"
        )
    return "\n".join(lines)


class SandboxClient:
    """Wraps the control API: inject user messages and button presses, read what the bot sent."""

    def __init__(self, base_url: str, *, token: str | None = None) -> None:
        """Talk to the sandbox at base_url (e.g. http://127.0.0.1:8081) with the run's control token.

        Without a token the client reads it from the chat page on first use, as the browser does.
        """
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=httpx.Timeout(75.0, connect=5.0))
        if token:
            self._http.headers[_TOKEN_HEADER] = token

    async def __aenter__(self) -> SandboxClient:
        """Use as an async context manager."""
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close the HTTP client."""
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._http.aclose()

    async def _ensure_token(self) -> None:
        """Learn the control token from the chat page when none was given."""
        if _TOKEN_HEADER in self._http.headers:
            return
        page = await self._http.get("/")
        match = _PAGE_TOKEN.search(page.text)
        if page.status_code != 200 or match is None:
            raise SandboxError(f"no control token given and none found on the chat page ({page.status_code})")
        self._http.headers[_TOKEN_HEADER] = match.group(1)

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the control API and return its JSON; errors become SandboxError with the description."""
        await self._ensure_token()
        if method != "GET" and "json" not in kwargs:
            kwargs["json"] = {}  # the control API takes JSON bodies only
        response = await self._http.request(method, _PREFIX + path, **kwargs)
        if response.status_code >= 400:
            try:
                description = response.json().get("description", response.text)
            except ValueError:
                description = response.text
            raise SandboxError(f"{method} {path}: {response.status_code} {description}")
        return response.json()

    # ------------------------------------------------------------ the user side

    async def send_message(self, user_id: int, **fields: Any) -> dict[str, Any]:
        """Send any kind of user message (fields as in POST /users/{id}/messages); None values are dropped."""
        body = {key: value for key, value in fields.items() if value is not None}
        return await self._request("POST", f"/users/{user_id}/messages", json=body)

    async def send_text(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        first_name: str = "Test",
        language_code: str | None = None,
        reply_to_message_id: int | None = None,
        unchecked: bool = False,
    ) -> dict[str, Any]:
        """The user sends a text; returns {update_id, message_id, chat_id}.

        unchecked=True is fault injection: empty or over-long text a real client would never send.
        """
        return await self.send_message(
            user_id,
            kind="text",
            text=text,
            chat_id=chat_id,
            first_name=first_name,
            language_code=language_code,
            reply_to_message_id=reply_to_message_id,
            **({"unchecked": True} if unchecked else {}),
        )

    async def send_photo(
        self,
        user_id: int,
        *,
        chat_id: int | None = None,
        caption: str | None = None,
        first_name: str | None = None,
    ) -> dict[str, Any]:
        """The user sends a (generated) photo, optionally with a caption."""
        return await self.send_message(
            user_id, kind="photo", chat_id=chat_id, caption=caption, first_name=first_name
        )

    async def send_sticker(
        self, user_id: int, *, chat_id: int | None = None, first_name: str | None = None
    ) -> dict[str, Any]:
        """The user sends a sticker."""
        return await self.send_message(user_id, kind="sticker", chat_id=chat_id, first_name=first_name)

    async def send_voice(
        self, user_id: int, *, chat_id: int | None = None, first_name: str | None = None
    ) -> dict[str, Any]:
        """The user sends a voice message."""
        return await self.send_message(user_id, kind="voice", chat_id=chat_id, first_name=first_name)

    async def send_document(
        self,
        user_id: int,
        *,
        chat_id: int | None = None,
        caption: str | None = None,
        file_name: str | None = None,
    ) -> dict[str, Any]:
        """The user sends a small text document."""
        return await self.send_message(
            user_id, kind="document", chat_id=chat_id, caption=caption, file_name=file_name
        )

    async def send_contact(
        self,
        user_id: int,
        phone_number: str,
        *,
        contact_user_id: int | None = None,
        chat_id: int | None = None,
        first_name: str | None = None,
    ) -> dict[str, Any]:
        """The user shares a contact; contact_user_id defaults to their own id (as request_contact sends)."""
        contact = {
            "phone_number": phone_number,
            "user_id": contact_user_id if contact_user_id is not None else user_id,
        }
        if first_name:
            contact["first_name"] = first_name
        return await self.send_message(user_id, kind="contact", chat_id=chat_id, contact=contact)

    async def press_button(self, user_id: int, chat_id: int, message_id: int, data: str) -> dict[str, Any]:
        """The user presses an inline button; returns {update_id, callback_query_id}."""
        body = {"chat_id": chat_id, "message_id": message_id, "data": data}
        return await self._request("POST", f"/users/{user_id}/callback", json=body)

    async def redeliver(self, update_id: int) -> None:
        """FAULT INJECTION: make the sandbox deliver this update (same id and payload) once more."""
        await self._request("POST", f"/updates/{update_id}/redeliver")

    async def create_group(self, chat_id: int, title: str, *, chat_type: str = "group") -> dict[str, Any]:
        """Create a group (negative chat_id) users can write in; returns the Chat object."""
        return await self._request(
            "POST", "/chats", json={"chat_id": chat_id, "type": chat_type, "title": title}
        )

    async def inject_fault(
        self, method: str, *, status: int = 429, count: int = 1, retry_after: int | None = None,
        description: str | None = None, chat_id: int | None = None,
    ) -> None:
        """Make the next `count` calls of a Bot API method fail (429 carries retry_after), for fault tests;
        with chat_id only calls for that chat fail."""
        body: dict[str, Any] = {"method": method, "status": status, "count": count}
        if chat_id is not None:
            body["chat_id"] = chat_id
        if retry_after is not None:
            body["retry_after"] = retry_after
        if description is not None:
            body["description"] = description
        await self._request("POST", "/faults", json=body)

    async def clear_faults(self) -> None:
        """Clear every injected fault: Telegram answers normally again."""
        await self._request("DELETE", "/faults")

    async def faults(self) -> list[dict[str, Any]]:
        """The injected faults and how many calls each answered."""
        return await self._request("GET", "/faults")

    async def reset(self) -> None:
        """Forget all users, chats, files, updates and callbacks."""
        await self._request("POST", "/reset")

    # ------------------------------------------------------------ reading what happened

    async def messages(
        self,
        chat_id: int,
        *,
        after_message_id: int = 0,
        sender: str = "all",
        wait: float = 0.0,
        min_count: int = 1,
    ) -> list[dict[str, Any]]:
        """Messages of a chat (each the Telegram Message JSON plus "edited")."""
        query = {"after_message_id": after_message_id, "sender": sender, "wait": wait, "min_count": min_count}
        return await self._request("GET", f"/chats/{chat_id}/messages", params=query)

    async def bot_messages(self, chat_id: int, *, after_message_id: int = 0) -> list[dict[str, Any]]:
        """What the bot has sent to a chat so far (after a message id)."""
        return await self.messages(chat_id, after_message_id=after_message_id, sender="bot")

    async def wait_for_bot_messages(
        self, chat_id: int, *, count: int = 1, after_message_id: int = 0, timeout: float = 15.0
    ) -> list[dict[str, Any]]:
        """Wait until the bot has sent at least count messages after a message id; return them all.

        Raises WaitTimeout (an AssertionError) listing the messages that did arrive.
        """
        deadline = time.monotonic() + timeout
        while True:  # the server caps one long poll at 60 s, so longer waits take several
            remaining = max(0.0, deadline - time.monotonic())
            received = await self.messages(
                chat_id,
                after_message_id=after_message_id,
                sender="bot",
                wait=min(remaining, 55.0),
                min_count=count,
            )
            if len(received) >= count or remaining <= 55.0:
                break
        if len(received) < count:
            raise WaitTimeout(
                f"expected {count} bot message(s) in chat {chat_id} after message {after_message_id} "
                f"within {timeout}s, got {len(received)}:\n{_describe(received)}"
            )
        return received

    async def wait_for_edit(self, chat_id: int, message_id: int, *, timeout: float = 15.0) -> dict[str, Any]:
        """Wait until a bot message has been edited; return its current state."""
        deadline = time.monotonic() + timeout
        version = -1
        while True:
            remaining = deadline - time.monotonic()
            snapshot = await self._request(
                "GET",
                f"/chats/{chat_id}/snapshot",
                params={"after_version": version, "wait": max(0.0, remaining)},
            )
            version = snapshot["version"]
            message = next((m for m in snapshot["messages"] if m["message_id"] == message_id), None)
            if message is not None and message["edited"]:
                return message
            if remaining <= 0:
                raise WaitTimeout(
                    f"message {message_id} in chat {chat_id} was not edited within {timeout}s; chat now:\n"
                    + _describe(snapshot["messages"])
                )

    async def callback_answer(self, callback_query_id: str, *, wait: float = 0.0) -> dict[str, Any] | None:
        """The bot's answerCallbackQuery for a press ({text, show_alert, ...}) or None if not answered yet.

        With wait > 0 it waits up to that many seconds for the answer.
        """
        record = await self._request("GET", f"/callbacks/{callback_query_id}", params={"wait": wait})
        return record["answer"]

    async def chat_actions(self, chat_id: int) -> list[str]:
        """The chat actions (e.g. 'typing') the bot sent to a chat, oldest first."""
        return await self._request("GET", f"/chats/{chat_id}/actions")

    async def state(self) -> dict[str, Any]:
        """The sandbox summary (chats, pending updates, webhook info)."""
        return await self._request("GET", "/state")

    async def file_content(self, file_id: str) -> bytes:
        """The bytes of a stored file (e.g. a photo the bot sent)."""
        await self._ensure_token()
        response = await self._http.get(f"{_PREFIX}/files/{file_id}")
        response.raise_for_status()
        return response.content
