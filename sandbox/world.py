"""In-memory state of the fake Telegram: users, chats, messages, files, updates, callbacks, webhook.

Every mutation that someone may be waiting for (a long-polling getUpdates, the webhook sender, a
test or the web page waiting for bot messages) ends with ``await self.changed()``, which notifies
one asyncio Condition; waiters re-check their own predicate.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from sandbox.errors import ApiError, bad_request
from sandbox.markup import inline_part

Sender = Literal["bot", "user"]

BOT_FIRST_NAME = "ParcelDesk"
BOT_USERNAME = "ParcelDeskBot"
# Telegram's default when allowed_updates was never set: everything except these.
_NOT_DEFAULT_UPDATES = {"chat_member", "message_reaction", "message_reaction_count"}
_CONTENT_KEYS = ("text", "photo", "caption", "document", "sticker", "voice", "contact", "location")
_UPDATE_TYPES = {"message", "edited_message", "callback_query"}


def now() -> int:
    """Unix time in whole seconds, as Telegram dates are."""
    return int(time.time())


@dataclass
class StoredFile:
    """A file known to the sandbox, downloadable via getFile and /file/bot<token>/<file_path>."""

    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes
    mime_type: str
    file_name: str | None = None

    def api_json(self) -> dict[str, Any]:
        """The File object getFile returns."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.content),
            "file_path": self.file_path,
        }


@dataclass
class StoredMessage:
    """One message in a chat, sent by the user side or by the bot."""

    sender: Sender
    data: dict[str, Any]
    reply_markup: dict[str, Any] | None = None
    edited: bool = False

    @property
    def message_id(self) -> int:
        """The message's id within its chat."""
        return int(self.data["message_id"])

    def api_json(self) -> dict[str, Any]:
        """The Message object as the Bot API returns it (only inline keyboards are part of a Message)."""
        result = dict(self.data)
        markup = inline_part(self.reply_markup)
        if markup:
            result["reply_markup"] = markup
        return result

    def view(self) -> dict[str, Any]:
        """The message for the control API and the web page: any reply_markup, plus "edited"."""
        result = dict(self.data)
        if self.reply_markup:
            result["reply_markup"] = self.reply_markup
        result["edited"] = self.edited
        return result


@dataclass
class Chat:
    """A private chat (id == user id) or a group (negative id), with its messages in order."""

    info: dict[str, Any]
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    next_message_id: int = 1
    actions: list[tuple[str, float]] = field(default_factory=list)
    last_bot_message_at: float = 0.0
    version: int = 0  # the world's version at the chat's last change (never rewinds, not even on reset)

    @property
    def chat_id(self) -> int:
        """The chat's id."""
        return int(self.info["id"])


@dataclass
class PendingUpdate:
    """An update waiting for the bot; ``sent`` matters only for redeliveries (see World.redeliver)."""

    update_id: int
    kind: str
    payload: dict[str, Any]
    sent: bool = False


@dataclass
class CallbackRecord:
    """A callback query the user side made, and the bot's answer once it arrives."""

    callback_query_id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    answer: dict[str, Any] | None = None


@dataclass
class WebhookConfig:
    """What setWebhook stored, plus delivery errors for getWebhookInfo."""

    url: str = ""
    secret_token: str | None = None
    max_connections: int = 40
    ip_address: str | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class Fault:
    """An injected failure: the next `remaining` calls of `method` fail with `status` (429: retry_after)."""

    method: str
    status: int
    remaining: int
    retry_after: int | None = None
    description: str = ""
    served: int = 0
    # Only calls for this chat fail (None: any chat), so a fault test is not hit by another chat's message.
    chat_id: int | None = None


class World:
    """Everything the fake Telegram knows; lives in memory for the life of the app."""

    def __init__(self, first_update_id: int | None = None) -> None:
        """Start empty; counters are never rewound (not even by reset) so update ids stay increasing.

        Like Telegram after a quiet spell, the first update id is random unless given, so two sandbox runs
        against one database never reuse an update id.
        """
        self._condition = asyncio.Condition()
        start = first_update_id if first_update_id is not None else random.SystemRandom().randint(10**8, 9 * 10**8)
        self._update_ids = itertools.count(start)
        self._callback_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self.users: dict[int, dict[str, Any]] = {}
        self.chats: dict[int, Chat] = {}
        self.files: dict[str, StoredFile] = {}
        self.photo_sets: dict[str, list[dict[str, Any]]] = {}
        self.pending: list[PendingUpdate] = []
        self.redeliveries: list[PendingUpdate] = []
        self.history: dict[int, PendingUpdate] = {}
        self.callbacks: dict[str, CallbackRecord] = {}
        self.allowed_updates: list[str] | None = None
        self.webhook = WebhookConfig()
        self.webhook_retry_delays: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)
        self.commands: dict[str, list[dict[str, str]]] = {}
        self.descriptions: dict[str, str] = {}
        self.bot_id = 0
        self.version = 0
        self._poll_generation = 0
        self.last_update_id = 0
        # Injected failures, for tests: the next calls of a method answer with an error (e.g. 429).
        self.faults: list[Fault] = []

    # ---------------------------------------------------------------- waiting

    async def changed(self, chat: Chat | None = None) -> None:
        """Wake everyone waiting on the world; a changed chat gets the new (world-wide) version number."""
        self.version += 1
        if chat is not None:
            chat.version = self.version
        async with self._condition:
            self._condition.notify_all()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float | None) -> bool:
        """Wait up to timeout seconds (None: for ever) for predicate() to hold; return its final value."""
        async with self._condition:
            if (timeout is None or timeout > 0) and not predicate():
                try:
                    async with asyncio.timeout(timeout):
                        await self._condition.wait_for(predicate)
                except TimeoutError:
                    pass
            return predicate()

    # ---------------------------------------------------------------- users and chats

    def bot_user(self) -> dict[str, Any]:
        """The bot as a User object (id taken from the token's digits; its name as setMyName last set it)."""
        return {"id": self.bot_id, "is_bot": True, "first_name": self.bot_name(""), "username": BOT_USERNAME}

    def bot_name(self, language_code: str) -> str:
        """The bot's name for users of this language: the name set for it, else the default one (like Telegram)."""
        return self.descriptions.get(f"name|{language_code}") or self.descriptions.get("name|") or BOT_FIRST_NAME

    def bot_names(self) -> str:
        """Every name the bot goes by (per language), for the chat page's header: "迅捷速运 / XunJie Express"."""
        names = [value for key, value in sorted(self.descriptions.items(), reverse=True)
                 if key.startswith("name|") and value]
        return " / ".join(dict.fromkeys(names)) or BOT_FIRST_NAME

    def upsert_user(self, user_id: int, **details: Any) -> dict[str, Any]:
        """Create the user or update the given non-empty details; return the User object."""
        if user_id <= 0:
            raise bad_request("user_id must be a positive integer")
        user = self.users.setdefault(user_id, {"id": user_id, "is_bot": False, "first_name": "Test"})
        for key in ("first_name", "last_name", "username", "language_code"):
            if details.get(key):
                user[key] = details[key]
        return user

    def private_chat(self, user: dict[str, Any]) -> Chat:
        """The private chat with this user, created on first use."""
        chat = self.chats.get(user["id"])
        if chat is None:
            chat = Chat(info={"id": user["id"], "type": "private"})
            self.chats[user["id"]] = chat
        for key in ("first_name", "last_name", "username"):
            if user.get(key):
                chat.info[key] = user[key]
        return chat

    async def create_group(self, chat_id: int, chat_type: str, title: str) -> Chat:
        """Create (or retitle) a group or supergroup chat; its id must be negative."""
        if chat_id >= 0:
            raise bad_request("group chat ids are negative")
        if chat_type not in ("group", "supergroup"):
            raise bad_request("type must be group or supergroup")
        if not title:
            raise bad_request("title is empty")
        chat = self.chats.get(chat_id)
        if chat is None:
            chat = Chat(info={"id": chat_id, "type": chat_type, "title": title})
            self.chats[chat_id] = chat
        chat.info.update(type=chat_type, title=title)
        await self.changed(chat)
        return chat

    def chat(self, chat_id: int | None) -> Chat:
        """An existing chat, or Telegram's 'chat not found'."""
        chat = self.chats.get(chat_id) if chat_id is not None else None
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def message(self, chat: Chat, message_id: int | None) -> StoredMessage | None:
        """A message of the chat by id, or None."""
        return chat.messages.get(message_id) if message_id is not None else None

    # ---------------------------------------------------------------- messages

    async def add_message(
        self,
        chat: Chat,
        sender: Sender,
        from_user: dict[str, Any],
        content: dict[str, Any],
        *,
        reply_markup: dict[str, Any] | None = None,
        reply_to: StoredMessage | None = None,
    ) -> StoredMessage:
        """Append a message with the chat's next message_id and wake waiters."""
        data: dict[str, Any] = {
            "message_id": chat.next_message_id,
            "from": dict(from_user),
            "chat": dict(chat.info),
            "date": now(),
        }
        if reply_to is not None:
            quoted = reply_to.api_json()
            quoted.pop("reply_to_message", None)
            data["reply_to_message"] = quoted
        data.update(content)
        message = StoredMessage(sender=sender, data=data, reply_markup=reply_markup)
        chat.messages[message.message_id] = message
        chat.next_message_id += 1
        if sender == "bot":
            chat.last_bot_message_at = time.time()
        await self.changed(chat)
        return message

    async def edit_message(
        self, chat: Chat, message: StoredMessage, changes: dict[str, Any], markup: Any
    ) -> None:
        """Apply content changes (and, unless markup is ..., a new reply_markup) and mark it edited."""
        message.data.update(changes)
        if markup is not ...:
            message.reply_markup = markup
        message.data["edit_date"] = now()
        message.edited = True
        await self.changed(chat)

    async def delete_message(self, chat: Chat, message_id: int) -> bool:
        """Remove a message; False if it did not exist."""
        if chat.messages.pop(message_id, None) is None:
            return False
        await self.changed(chat)
        return True

    def messages(self, chat: Chat, *, after_message_id: int = 0, sender: str = "all") -> list[StoredMessage]:
        """Messages of a chat after an id, optionally only the bot's or the user side's."""
        return [
            message
            for message in chat.messages.values()
            if message.message_id > after_message_id and (sender == "all" or message.sender == sender)
        ]

    async def record_action(self, chat: Chat, action: str) -> None:
        """Remember a sendChatAction call."""
        chat.actions.append((action, time.time()))
        await self.changed(chat)

    @staticmethod
    def copy_content(message: StoredMessage) -> dict[str, Any]:
        """The content fields of a message (text, photo, caption, ...) for copy/forward."""
        return {key: message.data[key] for key in _CONTENT_KEYS if key in message.data}

    # ---------------------------------------------------------------- files

    def add_file(
        self, content: bytes, *, folder: str, extension: str, mime_type: str, file_name: str | None = None
    ) -> StoredFile:
        """Store bytes as a new file with fresh file_id/file_unique_id and a file_path under folder."""
        number = next(self._file_ids)
        stored = StoredFile(
            file_id=f"SBX{number:06d}{secrets.token_hex(8)}",
            file_unique_id=f"U{number:06d}{secrets.token_hex(3)}",
            file_path=f"{folder}/file_{number}.{extension}",
            content=content,
            mime_type=mime_type,
            file_name=file_name,
        )
        self.files[stored.file_id] = stored
        return stored

    def file(self, file_id: str | None) -> StoredFile:
        """A stored file by id, or Telegram's 'wrong file identifier' error."""
        stored = self.files.get(file_id or "")
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return stored

    def file_by_path(self, file_path: str) -> StoredFile | None:
        """A stored file by its file_path, or None."""
        return next((stored for stored in self.files.values() if stored.file_path == file_path), None)

    def register_photo(
        self, sizes: list[StoredFile], dimensions: list[tuple[int, int]]
    ) -> list[dict[str, Any]]:
        """Make a PhotoSize list (smallest first) out of stored files and remember it for re-sending."""
        photo = [
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "width": width,
                "height": height,
                "file_size": len(stored.content),
            }
            for stored, (width, height) in zip(sizes, dimensions, strict=True)
        ]
        for stored in sizes:
            self.photo_sets[stored.file_id] = photo
        return photo

    # ---------------------------------------------------------------- updates

    async def enqueue(self, kind: str, obj: dict[str, Any]) -> int:
        """Queue a new update of the given kind ('message', 'callback_query', ...); return its update_id."""
        update_id = next(self._update_ids)
        self.last_update_id = update_id
        pending = PendingUpdate(update_id=update_id, kind=kind, payload={"update_id": update_id, kind: obj})
        self.pending.append(pending)
        self.history[update_id] = pending
        await self.changed()
        return update_id

    async def redeliver(self, update_id: int) -> None:
        """FAULT INJECTION: deliver an update once more, with the same update_id and payload.

        Simulates Telegram sending an update again because the bot's acknowledgement was lost
        (a getUpdates response that never arrived, or a webhook reply that timed out). The copy is
        delivered even if the bot already confirmed the update; a bot must therefore treat
        update_id (or the message/callback ids) as an idempotency key. With getUpdates the copy is
        put in front of the next response and is dropped once a later call's offset passes it.
        """
        original = self.history.get(update_id)
        if original is None:
            raise ApiError(404, f"Not Found: update {update_id} is unknown")
        self.redeliveries.append(
            PendingUpdate(update_id=update_id, kind=original.kind, payload=original.payload)
        )
        await self.changed()

    def _allowed(self, kind: str) -> bool:
        """Whether the bot's allowed_updates setting lets this kind of update through."""
        if self.allowed_updates:
            return kind in self.allowed_updates
        return kind not in _NOT_DEFAULT_UPDATES

    def _confirm(self, offset: int | None) -> None:
        """Forget updates confirmed by a getUpdates offset (negative: keep only the last -offset)."""
        if not offset:
            return
        if offset < 0:
            self.pending = self.pending[offset:]
            return
        self.pending = [update for update in self.pending if update.update_id >= offset]
        self.redeliveries = [
            update for update in self.redeliveries if not (update.sent and update.update_id < offset)
        ]

    def _deliverable(self) -> bool:
        """Whether some update is waiting to be handed out (dropping ones the bot does not want)."""
        self.pending = [update for update in self.pending if self._allowed(update.kind)]
        return bool(self.redeliveries or self.pending)

    def set_allowed_updates(self, allowed: Any) -> None:
        """Store allowed_updates (a list of update types; empty means Telegram's default set)."""
        if allowed is None:
            return
        if not isinstance(allowed, list) or not all(isinstance(kind, str) for kind in allowed):
            raise bad_request("can't parse allowed_updates JSON array")
        self.allowed_updates = list(allowed) or None

    async def get_updates(
        self, offset: int | None, limit: int, timeout: float, allowed: Any
    ) -> list[dict[str, Any]]:
        """getUpdates with Telegram's semantics: confirm below offset, long-poll up to timeout seconds.

        A newer getUpdates call ends an older one that is still waiting with 409 Conflict
        ("terminated by other getUpdates request"), as Telegram does when two bot instances poll.
        """
        self._check_no_webhook()
        self.set_allowed_updates(allowed)
        self._confirm(offset)
        self._poll_generation += 1
        generation = self._poll_generation
        await self.changed()

        def ready() -> bool:
            """Something to return, or this poll was superseded, or a webhook appeared."""
            return generation != self._poll_generation or bool(self.webhook.url) or self._deliverable()

        await self.wait_until(ready, min(max(timeout, 0.0), 50.0))
        if generation != self._poll_generation:
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; "
                "make sure that only one bot instance is running",
            )
        self._check_no_webhook()
        self._deliverable()
        batch = (self.redeliveries + self.pending)[: max(1, min(limit, 100))]
        for update in batch:
            update.sent = True
        return [update.payload for update in batch]

    def _check_no_webhook(self) -> None:
        """getUpdates is refused while a webhook is set."""
        if self.webhook.url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )

    async def set_webhook(self, config: WebhookConfig, *, drop_pending: bool, allowed: Any) -> None:
        """Set or clear (empty url) the webhook, optionally dropping pending updates."""
        self.set_allowed_updates(allowed)
        if drop_pending:
            self.pending.clear()
            self.redeliveries.clear()
        self.webhook = config
        await self.changed()

    async def next_webhook_update(self) -> tuple[PendingUpdate, WebhookConfig]:
        """Wait until a webhook is set and an update is due; return it (still queued) and the config."""
        await self.wait_until(lambda: bool(self.webhook.url) and self._deliverable(), timeout=None)
        head = self.redeliveries[0] if self.redeliveries else self.pending[0]
        return head, self.webhook

    async def finish_webhook_update(self, update: PendingUpdate, error: str | None) -> None:
        """Take a delivered (or given-up) update off the queue and record any final error."""
        if update in self.redeliveries:
            self.redeliveries.remove(update)
        elif update in self.pending:
            self.pending.remove(update)
        if error:
            self.webhook.last_error_date = now()
            self.webhook.last_error_message = error
        await self.changed()

    async def note_webhook_error(self, error: str) -> None:
        """Record a failed delivery attempt for getWebhookInfo."""
        self.webhook.last_error_date = now()
        self.webhook.last_error_message = error
        await self.changed()

    def webhook_info(self) -> dict[str, Any]:
        """The WebhookInfo object."""
        info: dict[str, Any] = {
            "url": self.webhook.url,
            "has_custom_certificate": False,
            "pending_update_count": len(self.pending) + len(self.redeliveries),
        }
        if self.webhook.url:
            info["max_connections"] = self.webhook.max_connections
            if self.webhook.ip_address:
                info["ip_address"] = self.webhook.ip_address
        if self.allowed_updates:
            info["allowed_updates"] = list(self.allowed_updates)
        if self.webhook.last_error_date:
            info["last_error_date"] = self.webhook.last_error_date
            info["last_error_message"] = self.webhook.last_error_message
        return info

    # ---------------------------------------------------------------- callbacks

    def new_callback(self, user_id: int, chat_id: int, message_id: int, data: str) -> CallbackRecord:
        """Record a button press and give it a Telegram-looking callback_query id."""
        record = CallbackRecord(
            callback_query_id=str(4_611_686_018_427_387_904 + next(self._callback_ids) * 1_000_003),
            user_id=user_id,
            chat_id=chat_id,
            message_id=message_id,
            data=data,
        )
        self.callbacks[record.callback_query_id] = record
        return record

    async def answer_callback(self, callback_query_id: str | None, answer: dict[str, Any]) -> None:
        """Store the bot's answer to a callback query; unknown or already answered ids are 'too old'."""
        record = self.callbacks.get(callback_query_id or "")
        if record is None or record.answer is not None:
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        record.answer = answer
        await self.changed()

    # ---------------------------------------------------------------- reset and summary

    async def reset(self) -> None:
        """Forget users, chats, files, updates and callbacks (bot settings and id counters stay)."""
        self.users.clear()
        self.chats.clear()
        self.files.clear()
        self.photo_sets.clear()
        self.pending.clear()
        self.redeliveries.clear()
        self.history.clear()
        self.callbacks.clear()
        self.faults.clear()
        await self.changed()

    def summary(self) -> dict[str, Any]:
        """A JSON overview for GET /sandbox/api/state (never includes the token)."""
        return {
            "bot": self.bot_user(),
            "chats": [
                {**chat.info, "message_count": len(chat.messages), "next_message_id": chat.next_message_id}
                for chat in self.chats.values()
            ],
            "users": list(self.users.values()),
            "pending_updates": [update.update_id for update in self.pending],
            "redeliveries": [update.update_id for update in self.redeliveries],
            "last_update_id": self.last_update_id,
            "allowed_updates": self.allowed_updates,
            "webhook": self.webhook_info(),
            "commands": self.commands,
            "descriptions": self.descriptions,
            "files": len(self.files),
        }

    def take_fault(self, method: str, *, chat_id: str | None = None) -> Fault | None:
        """The injected failure the next call of `method` (for this chat) must answer with, if any (consumes one)."""
        for fault in self.faults:
            if fault.chat_id is not None and str(fault.chat_id) != chat_id:
                continue
            if fault.method == method.lower() and fault.remaining > 0:
                fault.remaining -= 1
                fault.served += 1
                return fault
        return None
