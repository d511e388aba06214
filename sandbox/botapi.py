"""Bot API routes: /bot<token>/<method> and /file/bot<token>/<file_path>, answering like Telegram."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.errors import ApiError, bad_request
from sandbox.formatting import plain_text, utf16_length
from sandbox.markup import check_reply_markup, inline_part
from sandbox.media import image_mime, image_size
from sandbox.params import Params, UploadedFile, read_params
from sandbox.world import Chat, Fault, StoredFile, StoredMessage, WebhookConfig, World

logger = logging.getLogger(__name__)

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
TOKEN_RE = re.compile(r"^(\d+):[A-Za-z0-9_-]+$")
CHAT_ACTIONS = {
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
}
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


@dataclass
class Call:
    """One Bot API call: the world and the decoded parameters."""

    world: World
    params: Params


Handler = Callable[[Call], Awaitable[Any]]
METHODS: dict[str, Handler] = {}


def method(*names: str) -> Callable[[Handler], Handler]:
    """Register a handler under Bot API method names (matched case-insensitively)."""

    def register(handler: Handler) -> Handler:
        """Add the handler to METHODS."""
        for name in names:
            METHODS[name.lower()] = handler
        return handler

    return register


def unauthorized() -> ApiError:
    """Telegram's answer to a wrong token."""
    return ApiError(401, "Unauthorized")


def check_token(request: Request, token: str) -> int:
    """Accept the token if it is the configured one (or any well-formed one); return its bot id."""
    expected: str | None = request.app.state.bot_token
    match = TOKEN_RE.match(token)
    if match is None or (expected is not None and token != expected):
        raise unauthorized()
    return int(match.group(1))


def injected(fault: Fault) -> ApiError:
    """The error an injected fault answers with, shaped like Telegram's (429 carries retry_after)."""
    if fault.status == 429:
        wait = fault.retry_after or 1
        return ApiError(429, f"Too Many Requests: retry after {wait}", {"retry_after": wait})
    return ApiError(fault.status, fault.description or f"Injected failure {fault.status}")


def ok(result: Any) -> JSONResponse:
    """A successful Bot API response."""
    return JSONResponse({"ok": True, "result": result})


def failure(error: ApiError) -> JSONResponse:
    """A failed Bot API response."""
    return JSONResponse(error.payload(), status_code=error.status)


async def bot_api(request: Request) -> Response:
    """Dispatch /bot<token>/<method> (GET or POST) to the method's handler."""
    world: World = request.app.state.world
    try:
        world.bot_id = check_token(request, request.path_params["token"])
        handler = METHODS.get(request.path_params["method"].lower())
        if handler is None:
            raise ApiError(404, "Not Found: method not found")
        params = await read_params(request)
        fault = world.take_fault(request.path_params["method"], chat_id=params.text("chat_id"))
        if fault is not None:
            raise injected(fault)
        return ok(await handler(Call(world=world, params=params)))
    except ApiError as error:
        return failure(error)


async def file_download(request: Request) -> Response:
    """Serve a file's bytes at /file/bot<token>/<file_path>, as Telegram's file server does."""
    world: World = request.app.state.world
    try:
        check_token(request, request.path_params["token"])
    except ApiError as error:
        return failure(error)
    stored = world.file_by_path(request.path_params["file_path"])
    if stored is None:
        return failure(ApiError(404, "Not Found"))
    return Response(stored.content, media_type=stored.mime_type)


def routes() -> list[Route]:
    """The Bot API and file routes."""
    return [
        Route("/bot{token}/{method}", bot_api, methods=["GET", "POST"]),
        Route("/file/bot{token}/{file_path:path}", file_download, methods=["GET"]),
    ]


# ---------------------------------------------------------------------- shared pieces


def target_chat(call: Call, name: str = "chat_id") -> Chat:
    """The chat named by a chat_id-like parameter ('@username' chats do not exist here)."""
    raw = call.params.text(name)
    if raw is None or raw == "":
        raise bad_request(f"{name} is empty")
    try:
        chat_id = int(raw)
    except ValueError:
        raise bad_request("chat not found") from None
    return call.world.chat(chat_id)


def checked_text(text: str | None, parse_mode: str | None) -> str:
    """Message text after parse_mode, checked for emptiness and Telegram's 4096 limit."""
    plain = plain_text(text or "", parse_mode)
    if not plain.strip():
        raise bad_request("message text is empty")
    if utf16_length(plain) > TEXT_LIMIT:
        raise bad_request("message is too long")
    return plain


def checked_caption(call: Call) -> dict[str, Any]:
    """{'caption': ...} for a caption parameter (checked against the 1024 limit), or {}."""
    caption = call.params.text("caption")
    if not caption:
        return {}
    plain = plain_text(caption, call.params.text("parse_mode"))
    if utf16_length(plain) > CAPTION_LIMIT:
        raise bad_request("message caption is too long")
    return {"caption": plain} if plain else {}


def reply_target(call: Call, chat: Chat) -> StoredMessage | None:
    """The message being replied to (reply_to_message_id or reply_parameters), if any."""
    params = call.params
    message_id = params.integer("reply_to_message_id")
    allow_missing = params.flag("allow_sending_without_reply")
    reply_parameters = params.json_value("reply_parameters")
    if isinstance(reply_parameters, dict):
        message_id = reply_parameters.get("message_id", message_id)
        allow_missing = bool(reply_parameters.get("allow_sending_without_reply", allow_missing))
        if reply_parameters.get("chat_id") not in (None, chat.chat_id, str(chat.chat_id)):
            raise bad_request("replies to messages in other chats are not supported by the sandbox")
    if message_id is None:
        return None
    target = call.world.message(chat, int(message_id))
    if target is None and not allow_missing:
        raise bad_request("message to be replied not found")
    return target


async def send(call: Call, chat: Chat, content: dict[str, Any]) -> dict[str, Any]:
    """Store a bot message with the call's reply_markup/reply target and return it as a Message."""
    markup = check_reply_markup(call.params.json_value("reply_markup"))
    reply_to = reply_target(call, chat)
    message = await call.world.add_message(
        chat, "bot", call.world.bot_user(), content, reply_markup=markup, reply_to=reply_to
    )
    return message.api_json()


def editable_message(call: Call) -> tuple[Chat, StoredMessage]:
    """The bot message an edit call names; inline messages are not supported."""
    if call.params.has("inline_message_id"):
        raise bad_request("inline messages are not supported by the sandbox")
    chat = target_chat(call)
    message = call.world.message(chat, call.params.integer("message_id"))
    if message is None:
        raise bad_request("message to edit not found")
    if message.sender != "bot":
        raise bad_request("message can't be edited")
    return chat, message


def same_markup(message: StoredMessage, markup: dict[str, Any] | None) -> bool:
    """Whether an edit's inline markup equals the message's current inline markup."""
    return (markup or None) == inline_part(message.reply_markup)


def kept_markup(message: StoredMessage, markup: dict[str, Any] | None) -> Any:
    """The markup to store after an edit: a reply keyboard sent with the message stays, as in Telegram."""
    if markup is None and message.reply_markup and inline_part(message.reply_markup) is None:
        return ...
    return markup


def not_modified() -> ApiError:
    """Telegram's error for an edit that changes nothing."""
    return bad_request(
        "message is not modified: specified new message content and reply markup are exactly the same "
        "as a current content and reply markup of the message"
    )


def stored_upload(call: Call, upload: UploadedFile) -> StoredFile:
    """Store an uploaded document under documents/, keeping its name and content type."""
    extension = upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else "bin"
    return call.world.add_file(
        upload.content,
        folder="documents",
        extension=extension,
        mime_type=upload.content_type,
        file_name=upload.filename,
    )


def photo_sizes(call: Call) -> list[dict[str, Any]]:
    """The PhotoSize list for sendPhoto's photo parameter (an upload or an existing file_id)."""
    params = call.params
    upload = params.files.get("photo")
    if upload is not None:
        size, mime = image_size(upload.content), image_mime(upload.content)
        if size is None or mime is None:
            raise bad_request("IMAGE_PROCESS_FAILED")
        extension = mime.removeprefix("image/").replace("jpeg", "jpg")
        stored = call.world.add_file(upload.content, folder="photos", extension=extension, mime_type=mime)
        return call.world.register_photo([stored], [size])
    file_id = params.text("photo")
    if not file_id:
        raise bad_request("there is no photo in the request")
    if file_id.startswith(("http://", "https://")):
        raise bad_request("failed to get HTTP URL content (the sandbox cannot fetch URLs)")
    if file_id in call.world.photo_sets:
        return call.world.photo_sets[file_id]
    stored = call.world.file(file_id)
    size = image_size(stored.content)
    if size is None:
        raise bad_request("wrong type of the web page content")
    return call.world.register_photo([stored], [size])


def document_object(call: Call) -> dict[str, Any]:
    """The Document object for sendDocument's document parameter (an upload or an existing file_id)."""
    upload = call.params.files.get("document")
    if upload is not None:
        stored = stored_upload(call, upload)
    else:
        file_id = call.params.text("document")
        if not file_id:
            raise bad_request("there is no document in the request")
        stored = call.world.file(file_id)
    document: dict[str, Any] = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": len(stored.content),
        "mime_type": stored.mime_type,
    }
    if stored.file_name:
        document["file_name"] = stored.file_name
    return document


def scope_key(call: Call) -> str:
    """Key for bot commands/descriptions: scope type (+chat/user) and language code."""
    scope = call.params.json_value("scope") or {"type": "default"}
    if not isinstance(scope, dict) or "type" not in scope:
        raise bad_request("can't parse BotCommandScope JSON object")
    parts = [str(scope["type"])] + [f"{key}={scope[key]}" for key in ("chat_id", "user_id") if key in scope]
    language = call.params.text("language_code") or ""
    return "|".join(parts) + f"|lang={language}"


# ---------------------------------------------------------------------- bot and updates


@method("getMe")
async def get_me(call: Call) -> dict[str, Any]:
    """The bot's own User object."""
    return {
        **call.world.bot_user(),
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


@method("logOut", "close")
async def log_out(call: Call) -> bool:
    """Accepted and ignored (there is no real server to log out of)."""
    return True


@method("getUpdates")
async def get_updates(call: Call) -> list[dict[str, Any]]:
    """Long-polling getUpdates with offset/limit/timeout/allowed_updates."""
    params = call.params
    return await call.world.get_updates(
        offset=params.integer("offset"),
        limit=params.integer("limit", 100) or 100,
        timeout=params.number("timeout", 0.0) or 0.0,
        allowed=params.json_value("allowed_updates"),
    )


@method("setWebhook")
async def set_webhook(call: Call) -> bool:
    """Set the webhook (http:// is allowed here, unlike Telegram); an empty url removes it."""
    params = call.params
    url = params.text("url") or ""
    if url and not url.startswith(("http://", "https://")):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = params.text("secret_token")
    if secret is not None and not _SECRET_RE.match(secret):
        raise bad_request("secret token contains unallowed characters")
    config = WebhookConfig(
        url=url,
        secret_token=secret,
        max_connections=params.integer("max_connections", 40) or 40,
        ip_address=params.text("ip_address"),
    )
    await call.world.set_webhook(
        config, drop_pending=params.flag("drop_pending_updates"), allowed=params.json_value("allowed_updates")
    )
    return True


@method("deleteWebhook")
async def delete_webhook(call: Call) -> bool:
    """Remove the webhook, optionally dropping pending updates."""
    await call.world.set_webhook(
        WebhookConfig(), drop_pending=call.params.flag("drop_pending_updates"), allowed=None
    )
    return True


@method("getWebhookInfo")
async def get_webhook_info(call: Call) -> dict[str, Any]:
    """Current webhook settings and queue size."""
    return call.world.webhook_info()


# ---------------------------------------------------------------------- sending and editing


@method("sendMessage")
async def send_message(call: Call) -> dict[str, Any]:
    """Send a text message (parse_mode applied to get the stored plain text)."""
    chat = target_chat(call)
    text = checked_text(call.params.text("text"), call.params.text("parse_mode"))
    return await send(call, chat, {"text": text})


@method("sendPhoto")
async def send_photo(call: Call) -> dict[str, Any]:
    """Send a photo from an upload or a known file_id."""
    chat = target_chat(call)
    caption = checked_caption(call)
    return await send(call, chat, {"photo": photo_sizes(call), **caption})


@method("sendDocument")
async def send_document(call: Call) -> dict[str, Any]:
    """Send a document from an upload or a known file_id."""
    chat = target_chat(call)
    caption = checked_caption(call)
    return await send(call, chat, {"document": document_object(call), **caption})


@method("copyMessage")
async def copy_message(call: Call) -> dict[str, int]:
    """Copy a message's content into a chat as a new bot message (no forward header); returns MessageId."""
    chat = target_chat(call)
    source_chat = target_chat(call, "from_chat_id")
    source = call.world.message(source_chat, call.params.integer("message_id"))
    if source is None:
        raise bad_request("message to copy not found")
    content = call.world.copy_content(source)
    if call.params.has("caption"):
        content.pop("caption", None)
        content.update(checked_caption(call))
    result = await send(call, chat, content)
    return {"message_id": result["message_id"]}


@method("forwardMessage")
async def forward_message(call: Call) -> dict[str, Any]:
    """Forward a message into a chat, with a forward_origin naming the original sender."""
    chat = target_chat(call)
    source_chat = target_chat(call, "from_chat_id")
    source = call.world.message(source_chat, call.params.integer("message_id"))
    if source is None:
        raise bad_request("message to forward not found")
    content = call.world.copy_content(source)
    content["forward_origin"] = {
        "type": "user",
        "sender_user": source.data["from"],
        "date": source.data["date"],
    }
    message = await call.world.add_message(chat, "bot", call.world.bot_user(), content)
    return message.api_json()


@method("editMessageText")
async def edit_message_text(call: Call) -> dict[str, Any]:
    """Replace the text (and the inline keyboard, which is removed if not given) of a bot message."""
    chat, message = editable_message(call)
    if "text" not in message.data:
        raise bad_request("there is no text in the message to edit")
    text = checked_text(call.params.text("text"), call.params.text("parse_mode"))
    markup = check_reply_markup(call.params.json_value("reply_markup"), inline_only=True)
    if text == message.data["text"] and same_markup(message, markup):
        raise not_modified()
    await call.world.edit_message(chat, message, {"text": text}, kept_markup(message, markup))
    return message.api_json()


@method("editMessageCaption")
async def edit_message_caption(call: Call) -> dict[str, Any]:
    """Replace the caption (and the inline keyboard) of a bot media message."""
    chat, message = editable_message(call)
    if "text" in message.data:
        raise bad_request("there is no caption in the message to edit")
    caption = checked_caption(call)
    markup = check_reply_markup(call.params.json_value("reply_markup"), inline_only=True)
    if caption.get("caption") == message.data.get("caption") and same_markup(message, markup):
        raise not_modified()
    message.data.pop("caption", None)
    await call.world.edit_message(chat, message, caption, kept_markup(message, markup))
    return message.api_json()


@method("editMessageReplyMarkup")
async def edit_message_reply_markup(call: Call) -> dict[str, Any]:
    """Replace or remove (no reply_markup) the inline keyboard of a bot message."""
    chat, message = editable_message(call)
    markup = check_reply_markup(call.params.json_value("reply_markup"), inline_only=True)
    if same_markup(message, markup):
        raise not_modified()
    await call.world.edit_message(chat, message, {}, kept_markup(message, markup))
    return message.api_json()


@method("deleteMessage")
async def delete_message(call: Call) -> bool:
    """Delete a message (the bot's or the user's) from a chat."""
    chat = target_chat(call)
    message_id = call.params.required_integer("message_id", "message identifier is not specified")
    if not await call.world.delete_message(chat, message_id):
        raise bad_request("message to delete not found")
    return True


@method("answerCallbackQuery")
async def answer_callback_query(call: Call) -> bool:
    """Store the bot's answer to a button press (readable through the control API)."""
    params = call.params
    text = params.text("text")
    if text is not None and utf16_length(text) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    answer: dict[str, Any] = {"text": text, "show_alert": params.flag("show_alert")}
    if params.has("url"):
        answer["url"] = params.text("url")
    if params.has("cache_time"):
        answer["cache_time"] = params.integer("cache_time")
    await call.world.answer_callback(params.text("callback_query_id"), answer)
    return True


@method("sendChatAction")
async def send_chat_action(call: Call) -> bool:
    """Record a chat action such as 'typing'."""
    chat = target_chat(call)
    action = call.params.text("action")
    if action not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    await call.world.record_action(chat, action)
    return True


# ---------------------------------------------------------------------- files and chats


@method("getFile")
async def get_file(call: Call) -> dict[str, Any]:
    """File metadata with the file_path to download from /file/bot<token>/<file_path>."""
    return call.world.file(call.params.text("file_id")).api_json()


@method("getChat")
async def get_chat(call: Call) -> dict[str, Any]:
    """A ChatFullInfo object for a known chat."""
    chat = target_chat(call)
    gifts = {
        "unlimited_gifts": False,
        "limited_gifts": False,
        "unique_gifts": False,
        "premium_subscription": False,
        "gifts_from_channels": False,
    }
    return {**chat.info, "accent_color_id": 0, "max_reaction_count": 11, "accepted_gift_types": gifts}


# ---------------------------------------------------------------------- bot settings


@method("setMyCommands")
async def set_my_commands(call: Call) -> bool:
    """Store the command list for a scope and language."""
    commands = call.params.json_value("commands")
    if not isinstance(commands, list) or len(commands) > 100:
        raise bad_request("can't parse commands JSON array")
    for command in commands:
        if not isinstance(command, dict) or not _COMMAND_RE.match(str(command.get("command", ""))):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(str(command.get("description", ""))) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    call.world.commands[scope_key(call)] = [
        {"command": str(command["command"]), "description": str(command["description"])}
        for command in commands
    ]
    return True


@method("getMyCommands")
async def get_my_commands(call: Call) -> list[dict[str, str]]:
    """The command list for a scope and language."""
    return call.world.commands.get(scope_key(call), [])


@method("deleteMyCommands")
async def delete_my_commands(call: Call) -> bool:
    """Forget the command list for a scope and language."""
    call.world.commands.pop(scope_key(call), None)
    return True


@method("setMyDescription", "setMyShortDescription", "setMyName")
async def set_my_description(call: Call) -> bool:
    """Store a description, short description or name per language."""
    for name in ("description", "short_description", "name"):
        if call.params.has(name):
            call.world.descriptions[f"{name}|{call.params.text('language_code') or ''}"] = (
                call.params.text(name) or ""
            )
    return True


@method("getMyDescription")
async def get_my_description(call: Call) -> dict[str, str]:
    """The stored description."""
    return {
        "description": call.world.descriptions.get(
            f"description|{call.params.text('language_code') or ''}", ""
        )
    }


@method("getMyName")
async def get_my_name(call: Call) -> dict[str, str]:
    """The bot's name for a language (the default name when none was set for it)."""
    return {"name": call.world.bot_name(call.params.text("language_code") or "")}


@method("getMyShortDescription")
async def get_my_short_description(call: Call) -> dict[str, str]:
    """The stored short description."""
    key = f"short_description|{call.params.text('language_code') or ''}"
    return {"short_description": call.world.descriptions.get(key, "")}
