"""Validation of reply_markup objects (inline keyboards, reply keyboards, removal, force reply)."""

from __future__ import annotations

from typing import Any

from sandbox.errors import bad_request

CALLBACK_DATA_LIMIT = 64
_INLINE_ACTIONS = (
    "callback_data",
    "url",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "web_app",
    "callback_game",
    "pay",
)


def _check_inline_button(button: Any) -> dict[str, Any]:
    """Validate one inline keyboard button and return it unchanged."""
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request('can\'t parse inline keyboard button: Field "text" must be of type String')
    if not button["text"]:
        raise bad_request("BUTTON_TEXT_EMPTY")
    actions = [name for name in _INLINE_ACTIONS if name in button]
    if not actions:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not data or len(data.encode("utf-8")) > CALLBACK_DATA_LIMIT:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button:
        url = button["url"]
        if not isinstance(url, str) or not url.startswith(("http://", "https://", "tg://")):
            raise bad_request(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")
    return button


def _check_reply_button(button: Any) -> dict[str, Any]:
    """Validate one reply keyboard button (a string or a KeyboardButton object) and return it as an object."""
    if isinstance(button, str):
        button = {"text": button}
    if not isinstance(button, dict) or not isinstance(button.get("text"), str) or not button["text"]:
        raise bad_request('can\'t parse keyboard button: Field "text" must be of type String')
    return button


def _rows(markup: dict[str, Any], key: str) -> list[Any]:
    """The rows of a keyboard, which must be an array of arrays."""
    rows = markup.get(key)
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            f'can\'t parse reply keyboard markup JSON object: Field "{key}" must be an Array of Arrays'
        )
    return rows


def check_reply_markup(markup: Any, *, inline_only: bool = False) -> dict[str, Any] | None:
    """Validate a decoded reply_markup and return a normalised copy (None when absent)."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = [[_check_inline_button(button) for button in row] for row in _rows(markup, "inline_keyboard")]
        return {"inline_keyboard": rows}
    if inline_only:
        raise bad_request("inline keyboard expected")
    if "keyboard" in markup:
        rows = [[_check_reply_button(button) for button in row] for row in _rows(markup, "keyboard")]
        if not any(rows):
            raise bad_request("keyboard must be non-empty")
        return {**markup, "keyboard": rows}
    if markup.get("remove_keyboard") is True:
        return dict(markup)
    if markup.get("force_reply") is True:
        return dict(markup)
    raise bad_request("can't parse reply keyboard markup JSON object")


def inline_part(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    """The markup as it appears inside a Message object: only inline keyboards are shown there."""
    if markup and "inline_keyboard" in markup:
        return markup
    return None


def has_callback_data(markup: dict[str, Any] | None, data: str) -> bool:
    """Whether an inline keyboard contains a button with exactly this callback_data."""
    if not markup or "inline_keyboard" not in markup:
        return False
    return any(button.get("callback_data") == data for row in markup["inline_keyboard"] for button in row)
