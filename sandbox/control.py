"""Control API under /sandbox/api: play the human side (send messages, press buttons) and inspect chats.

All bodies and answers are JSON. Errors look like Bot API errors:
``{"ok": false, "error_code": 400, "description": "..."}``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.errors import ApiError, bad_request
from sandbox.formatting import utf16_length
from sandbox.markup import has_callback_data
from sandbox.media import make_png, make_silent_wav
from sandbox.world import Chat, Fault, World

PREFIX = "/sandbox/api"
MAX_WAIT = 60.0
ACTION_SHOWN_SECONDS = 5.0
_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,64})?")
MESSAGE_KINDS = ("text", "photo", "sticker", "voice", "document", "contact")

Endpoint = Callable[[Request], Awaitable[Any]]


def json_endpoint(handler: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler: its return value becomes a JSON response, an ApiError a JSON error."""

    async def endpoint(request: Request) -> Response:
        """Run the handler and encode its outcome."""
        try:
            result = await handler(request)
        except ApiError as error:
            return JSONResponse(error.payload(), status_code=error.status)
        if isinstance(result, Response):
            return result
        return JSONResponse(result)

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object body ({} when empty)."""
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise bad_request("body is not valid JSON") from None
    if not isinstance(body, dict):
        raise bad_request("body must be a JSON object")
    return body


def int_value(value: Any, name: str) -> int:
    """An integer from a path, query or body value; anything else is a Bad Request."""
    if isinstance(value, bool):
        raise bad_request(f"{name} must be an integer")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"{name} must be an integer") from None


def float_query(request: Request, name: str, default: float) -> float:
    """A numeric query parameter."""
    try:
        return float(request.query_params.get(name, default))
    except ValueError:
        raise bad_request(f"{name} must be a number") from None


def world_of(request: Request) -> World:
    """The app's world."""
    return request.app.state.world


def user_chat(world: World, user: dict[str, Any], chat_id: Any) -> Chat:
    """The chat a user writes in: their private chat by default, or an existing group."""
    if chat_id is None or int_value(chat_id, "chat_id") == user["id"]:
        return world.private_chat(user)
    group_id = int_value(chat_id, "chat_id")
    if group_id > 0:
        raise bad_request("a private chat's id is the user's id; use a negative id for a group")
    if group_id not in world.chats:
        raise bad_request(f"chat {group_id} not found; create it first with POST {PREFIX}/chats")
    return world.chats[group_id]


def command_entities(text: str) -> list[dict[str, Any]]:
    """A bot_command entity for a text that starts with /command, as Telegram adds."""
    match = _COMMAND_RE.match(text)
    if not match:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_length(match.group(0))}]


def message_content(world: World, user: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """The content fields of a user message of the requested kind, generating media as needed."""
    kind = body.get("kind") or "text"
    if kind not in MESSAGE_KINDS:
        raise bad_request(f"kind must be one of {', '.join(MESSAGE_KINDS)}")
    caption = body.get("caption") or (body.get("text") if kind != "text" else None)
    extra: dict[str, Any] = {"caption": str(caption)} if caption and kind in ("photo", "document") else {}
    seed = len(world.files) + user["id"]
    if kind == "text":
        text = body.get("text")
        # FAULT INJECTION: "unchecked" skips what a real Telegram client enforces (no empty text, at most
        # 4096 characters) so tests can prove the bot survives content it should never receive.
        unchecked = bool(body.get("unchecked"))
        if not isinstance(text, str) or (not text.strip() and not unchecked):
            raise bad_request("message text is empty")
        if utf16_length(text) > 4096 and not unchecked:
            raise bad_request("message is too long")
        entities = command_entities(text)
        return {"text": text, **({"entities": entities} if entities else {})}
    if kind == "photo":
        small = world.add_file(
            make_png(90, 90, seed), folder="photos", extension="png", mime_type="image/png"
        )
        large = world.add_file(
            make_png(320, 240, seed), folder="photos", extension="png", mime_type="image/png"
        )
        return {"photo": world.register_photo([small, large], [(90, 90), (320, 240)]), **extra}
    if kind == "sticker":
        stored = world.add_file(
            make_png(128, 128, seed), folder="stickers", extension="png", mime_type="image/png"
        )
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 128,
            "height": 128,
            "is_animated": False,
            "is_video": False,
            "emoji": "👍",
            "file_size": len(stored.content),
        }
        return {"sticker": sticker}
    if kind == "voice":
        stored = world.add_file(make_silent_wav(1.0), folder="voice", extension="wav", mime_type="audio/wav")
        voice = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": 1,
            "mime_type": "audio/wav",
            "file_size": len(stored.content),
        }
        return {"voice": voice}
    if kind == "document":
        name = str(body.get("file_name") or "document.txt")
        content = f"Sandbox document from user {user['id']}\n".encode()
        stored = world.add_file(
            content, folder="documents", extension="txt", mime_type="text/plain", file_name=name
        )
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": name,
            "mime_type": "text/plain",
            "file_size": len(content),
        }
        return {"document": document, **extra}
    contact = body.get("contact")
    if not isinstance(contact, dict) or not contact.get("phone_number"):
        raise bad_request("contact.phone_number is required")
    shared: dict[str, Any] = {
        "phone_number": str(contact["phone_number"]),
        "first_name": str(contact.get("first_name") or user["first_name"]),
    }
    if contact.get("user_id") is not None:
        shared["user_id"] = int_value(contact["user_id"], "contact.user_id")
    return {"contact": shared}


@json_endpoint
async def post_user_message(request: Request) -> dict[str, int]:
    """The user sends a message: store it and queue a 'message' update for the bot."""
    world = world_of(request)
    body = await json_body(request)
    user = world.upsert_user(
        int_value(request.path_params["user_id"], "user_id"),
        **{key: body.get(key) for key in ("first_name", "last_name", "username", "language_code")},
    )
    chat = user_chat(world, user, body.get("chat_id"))
    content = message_content(world, user, body)
    reply_to = None
    if body.get("reply_to_message_id") is not None:
        reply_to = world.message(chat, int_value(body["reply_to_message_id"], "reply_to_message_id"))
        if reply_to is None:
            raise bad_request("message to be replied not found")
    message = await world.add_message(chat, "user", user, content, reply_to=reply_to)
    update_id = await world.enqueue("message", message.api_json())
    return {"update_id": update_id, "message_id": message.message_id, "chat_id": chat.chat_id}


@json_endpoint
async def post_callback(request: Request) -> dict[str, Any]:
    """The user presses an inline button: queue a 'callback_query' update for the bot."""
    world = world_of(request)
    body = await json_body(request)
    user_id = int_value(request.path_params["user_id"], "user_id")
    chat = world.chat(int_value(body.get("chat_id", user_id), "chat_id"))
    message_id = int_value(body.get("message_id"), "message_id")
    data = body.get("data")
    message = world.message(chat, message_id)
    if message is None or message.sender != "bot":
        raise bad_request(f"no bot message {message_id} in chat {chat.chat_id}")
    if not isinstance(data, str) or not has_callback_data(message.reply_markup, data):
        raise bad_request(f"message {message_id} has no inline button with callback_data {data!r}")
    user = world.upsert_user(user_id, first_name=body.get("first_name"))
    record = world.new_callback(user_id, chat.chat_id, message_id, data)
    query = {
        "id": record.callback_query_id,
        "from": dict(user),
        "message": message.api_json(),
        "chat_instance": str((chat.chat_id * 2654435761) % (1 << 62)),
        "data": data,
    }
    update_id = await world.enqueue("callback_query", query)
    return {"update_id": update_id, "callback_query_id": record.callback_query_id}


@json_endpoint
async def post_redeliver(request: Request) -> dict[str, Any]:
    """FAULT INJECTION: hand the same update (same id and payload) to the bot once more."""
    update_id = int_value(request.path_params["update_id"], "update_id")
    await world_of(request).redeliver(update_id)
    return {"ok": True, "update_id": update_id}


@json_endpoint
async def get_chat_messages(request: Request) -> list[dict[str, Any]]:
    """Messages of a chat after a message id, by sender; with wait>0, long-poll until min_count exist."""
    world = world_of(request)
    chat_id = int_value(request.path_params["chat_id"], "chat_id")
    after = int_value(request.query_params.get("after_message_id", 0), "after_message_id")
    sender = request.query_params.get("sender", "all")
    if sender not in ("bot", "user", "all"):
        raise bad_request("sender must be bot, user or all")
    wait = min(float_query(request, "wait", 0.0), MAX_WAIT)
    min_count = int_value(request.query_params.get("min_count", 1), "min_count")

    def matching() -> list[dict[str, Any]]:
        """The matching messages right now ([] while the chat does not exist)."""
        chat = world.chats.get(chat_id)
        return (
            [message.view() for message in world.messages(chat, after_message_id=after, sender=sender)]
            if chat
            else []
        )

    if wait > 0:
        await world.wait_until(lambda: len(matching()) >= min_count, wait)
    return matching()


@json_endpoint
async def get_chat_snapshot(request: Request) -> dict[str, Any]:
    """The whole chat once its version exceeds after_version (long-polls up to wait s); for the page."""
    world = world_of(request)
    chat_id = int_value(request.path_params["chat_id"], "chat_id")
    after_version = int_value(request.query_params.get("after_version", -1), "after_version")
    wait = min(float_query(request, "wait", 0.0), MAX_WAIT)

    def version() -> int:
        """The chat's change counter (0 before it exists)."""
        chat = world.chats.get(chat_id)
        return chat.version if chat else 0

    if wait > 0:
        await world.wait_until(lambda: version() > after_version, wait)
    chat = world.chats.get(chat_id)
    action = None
    if chat and chat.actions:
        name, at = chat.actions[-1]
        # Like Telegram clients: shown for a few seconds, or until the bot's next message arrives.
        if time.time() - at < ACTION_SHOWN_SECONDS and at > chat.last_bot_message_at:
            action = name
    return {
        "version": version(),
        "chat": dict(chat.info) if chat else None,
        "messages": [message.view() for message in chat.messages.values()] if chat else [],
        "action": action,
        # The page's header names the bot as Telegram would (setMyName), in every language it was given.
        "bot_name": world.bot_names(),
    }


@json_endpoint
async def get_callback(request: Request) -> dict[str, Any]:
    """A callback query and the bot's answer (null until answered); wait>0 long-polls for the answer."""
    world = world_of(request)
    callback_query_id = request.path_params["callback_query_id"]
    record = world.callbacks.get(callback_query_id)
    if record is None:
        raise ApiError(404, f"Not Found: callback query {callback_query_id} is unknown")
    wait = min(float_query(request, "wait", 0.0), MAX_WAIT)
    if wait > 0:
        await world.wait_until(lambda: record.answer is not None, wait)
    return {
        "callback_query_id": record.callback_query_id,
        "user_id": record.user_id,
        "chat_id": record.chat_id,
        "message_id": record.message_id,
        "data": record.data,
        "answer": record.answer,
    }


@json_endpoint
async def get_chat_actions(request: Request) -> list[str]:
    """The chat actions (e.g. 'typing') the bot sent to a chat, oldest first."""
    chat = world_of(request).chats.get(int_value(request.path_params["chat_id"], "chat_id"))
    return [action for action, _ in chat.actions] if chat else []


@json_endpoint
async def post_chat(request: Request) -> dict[str, Any]:
    """Create a group or supergroup chat (negative id) that users can write in."""
    body = await json_body(request)
    chat = await world_of(request).create_group(
        int_value(body.get("chat_id"), "chat_id"),
        str(body.get("type") or "group"),
        str(body.get("title") or ""),
    )
    return dict(chat.info)


@json_endpoint
async def post_reset(request: Request) -> dict[str, bool]:
    """Forget all users, chats, files, updates and callbacks (webhook and commands stay)."""
    await world_of(request).reset()
    return {"ok": True}


@json_endpoint
async def get_state(request: Request) -> dict[str, Any]:
    """A summary of the sandbox: chats, pending updates, webhook info (never the token)."""
    return world_of(request).summary()


@json_endpoint
async def get_file_content(request: Request) -> Response:
    """A stored file's bytes by file_id, without a token (used by the web page to show photos)."""
    stored = world_of(request).file(request.path_params["file_id"])
    return Response(stored.content, media_type=stored.mime_type)


@json_endpoint
async def post_fault(request: Request) -> dict[str, Any]:
    """Make the next `count` calls of a Bot API method fail (status 429 with retry_after, or another status)."""
    body = await json_body(request)
    method_name = str(body.get("method") or "").strip().lower()
    if not method_name:
        raise bad_request("method is required")
    status = int_value(body.get("status", 429), "status")
    if status < 400 or status > 599:
        raise bad_request("status must be an HTTP error status (400-599)")
    retry_after = body.get("retry_after")
    fault = Fault(
        method=method_name,
        status=status,
        remaining=int_value(body.get("count", 1), "count"),
        retry_after=int_value(retry_after, "retry_after") if retry_after is not None else None,
        description=str(body.get("description") or ""),
        chat_id=int_value(body["chat_id"], "chat_id") if body.get("chat_id") is not None else None,
    )
    world_of(request).faults.append(fault)
    return {"ok": True}


@json_endpoint
async def get_faults(request: Request) -> list[dict[str, Any]]:
    """The injected faults and how many calls each has answered."""
    return [
        {"method": f.method, "status": f.status, "remaining": f.remaining, "served": f.served}
        for f in world_of(request).faults
    ]


@json_endpoint
async def delete_faults(request: Request) -> dict[str, Any]:
    """Clear every injected fault (Telegram answers normally again); chats and messages stay."""
    world_of(request).faults.clear()
    return {"ok": True}


def routes() -> list[Route]:
    """The control API routes."""
    return [
        Route(PREFIX + "/users/{user_id}/messages", post_user_message, methods=["POST"]),
        Route(PREFIX + "/users/{user_id}/callback", post_callback, methods=["POST"]),
        Route(PREFIX + "/updates/{update_id}/redeliver", post_redeliver, methods=["POST"]),
        Route(PREFIX + "/chats", post_chat, methods=["POST"]),
        Route(PREFIX + "/chats/{chat_id}/messages", get_chat_messages, methods=["GET"]),
        Route(PREFIX + "/chats/{chat_id}/snapshot", get_chat_snapshot, methods=["GET"]),
        Route(PREFIX + "/chats/{chat_id}/actions", get_chat_actions, methods=["GET"]),
        Route(PREFIX + "/callbacks/{callback_query_id}", get_callback, methods=["GET"]),
        Route(PREFIX + "/files/{file_id}", get_file_content, methods=["GET"]),
        Route(PREFIX + "/reset", post_reset, methods=["POST"]),
        Route(PREFIX + "/faults", post_fault, methods=["POST"]),
        Route(PREFIX + "/faults", get_faults, methods=["GET"]),
        Route(PREFIX + "/faults", delete_faults, methods=["DELETE"]),
        Route(PREFIX + "/state", get_state, methods=["GET"]),
    ]
