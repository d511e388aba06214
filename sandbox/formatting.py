"""parse_mode handling: turn HTML / MarkdownV2 / Markdown text into the plain text Telegram stores.

Telegram returns a message's text without markup (formatting travels as entities, which the sandbox
does not produce) and rejects malformed markup with "can't parse entities". The sandbox mirrors both,
so a bot that forgets to escape a customer's "<" or a "." in MarkdownV2 fails here as it would live.
"""

from __future__ import annotations

import html
import re

from sandbox.errors import ApiError, bad_request

_HTML_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "tg-emoji",
    "code",
    "pre",
    "blockquote",
}
_HTML_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s[^<>]*)?)\s*(/?)>")
_HTML_ENTITY_RE = re.compile(r"&(#[0-9]+|#[xX][0-9a-fA-F]+|lt|gt|amp|quot);")
_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MDV2_MARKERS = {"*": "Bold", "_": "Italic", "__": "Underline", "~": "Strikethrough", "||": "Spoiler"}


def _offset(text: str, index: int) -> int:
    """Byte offset of a character index, as Telegram reports positions."""
    return len(text[:index].encode("utf-8"))


def _entity_error(detail: str) -> ApiError:
    """The 'can't parse entities' Bad Request."""
    return bad_request(f"can't parse entities: {detail}")


def _plain_from_html(text: str) -> str:
    """Validate Telegram HTML and return its plain text."""
    out: list[str] = []
    stack: list[tuple[str, int]] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "<":
            match = _HTML_TAG_RE.match(text, index)
            if not match:
                raise _entity_error(f"Unsupported start tag at byte offset {_offset(text, index)}")
            closing, name = match.group(1) == "/", match.group(2).lower()
            if name not in _HTML_TAGS:
                kind = "end" if closing else "start"
                raise _entity_error(f'Unsupported {kind} tag "{name}" at byte offset {_offset(text, index)}')
            if closing:
                if not stack or stack[-1][0] != name:
                    raise _entity_error(f"Unexpected end tag at byte offset {_offset(text, index)}")
                stack.pop()
            elif not match.group(4):
                stack.append((name, index))
            index = match.end()
        elif char == "&":
            match = _HTML_ENTITY_RE.match(text, index)
            if match:
                out.append(html.unescape(match.group(0)))
                index = match.end()
            else:
                out.append(char)
                index += 1
        elif char == ">":
            out.append(char)
            index += 1
        else:
            out.append(char)
            index += 1
    if stack:
        name, start = stack[-1]
        raise _entity_error(
            f'Can\'t find end tag corresponding to start tag "{name}" at byte offset {_offset(text, start)}'
        )
    return "".join(out)


def _plain_from_markdown_v2(text: str) -> str:
    """Validate MarkdownV2 and return its plain text."""
    out: list[str] = []
    open_markers: list[tuple[str, int]] = []
    link_starts: list[int] = []
    index = 0
    at_line_start = True
    while index < len(text):
        char = text[index]
        if char == "\\":
            if index + 1 < len(text) and 0 < ord(text[index + 1]) < 127:
                out.append(text[index + 1])
                index += 2
                at_line_start = False
                continue
            raise _entity_error("Character '\\' is reserved and must be escaped with the preceding '\\'")
        if char == "`":
            fence = "```" if text.startswith("```", index) else "`"
            end = index + len(fence)
            body: list[str] = []
            while end < len(text) and not text.startswith(fence, end):
                if text[end] == "\\" and end + 1 < len(text):
                    body.append(text[end + 1])
                    end += 2
                else:
                    body.append(text[end])
                    end += 1
            if end >= len(text):
                kind = "Pre" if fence == "```" else "Code"
                raise _entity_error(f"Can't find end of {kind} entity at byte offset {_offset(text, index)}")
            content = "".join(body)
            if fence == "```" and "\n" in content:
                first, _, rest = content.partition("\n")
                content = rest if first and " " not in first.strip() else content
            out.append(content)
            index = end + len(fence)
            at_line_start = False
            continue
        marker = None
        for candidate in ("__", "||", "*", "_", "~"):
            if text.startswith(candidate, index):
                marker = candidate
                break
        if marker is not None:
            if open_markers and open_markers[-1][0] == marker:
                open_markers.pop()
            elif any(existing == marker for existing, _ in open_markers):
                raise _entity_error(
                    f"Can't find end of {_MDV2_MARKERS[marker]} entity at byte offset {_offset(text, index)}"
                )
            else:
                open_markers.append((marker, index))
            index += len(marker)
            at_line_start = False
            continue
        if char == "[":
            link_starts.append(index)
            index += 1
            continue
        if char == "]" and link_starts:
            link_starts.pop()
            if text.startswith("(", index + 1):
                close = text.find(")", index + 2)
                if close < 0:
                    raise _entity_error(f"Can't find end of a URL at byte offset {_offset(text, index + 1)}")
                index = close + 1
            else:
                index += 1
            continue
        if char == ">" and at_line_start:
            index += 1
            continue
        if char in _MDV2_RESERVED:
            raise _entity_error(f"Character '{char}' is reserved and must be escaped with the preceding '\\'")
        out.append(char)
        at_line_start = char == "\n"
        index += 1
    if open_markers:
        marker, start = open_markers[-1]
        raise _entity_error(
            f"Can't find end of {_MDV2_MARKERS[marker]} entity at byte offset {_offset(text, start)}"
        )
    if link_starts:
        raise _entity_error(
            f"Can't find end of a TextUrl entity at byte offset {_offset(text, link_starts[-1])}"
        )
    return "".join(out)


def _plain_from_markdown(text: str) -> str:
    """Validate legacy Markdown and return its plain text."""
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text) and text[index + 1] in "_*`[":
            out.append(text[index + 1])
            index += 2
            continue
        if char in "*_`":
            fence = "```" if text.startswith("```", index) else char
            end = text.find(fence, index + len(fence))
            if end < 0:
                raise _entity_error(
                    f"Can't find end of the entity starting at byte offset {_offset(text, index)}"
                )
            out.append(text[index + len(fence) : end])
            index = end + len(fence)
            continue
        if char == "[":
            close = text.find("]", index + 1)
            if close >= 0 and text.startswith("(", close + 1) and text.find(")", close + 2) >= 0:
                out.append(text[index + 1 : close])
                index = text.find(")", close + 2) + 1
                continue
        out.append(char)
        index += 1
    return "".join(out)


def plain_text(text: str, parse_mode: str | None) -> str:
    """The text Telegram would store for this text and parse_mode; malformed markup is a Bad Request."""
    mode = (parse_mode or "").strip().lower()
    if not mode:
        return text
    if mode == "html":
        return _plain_from_html(text)
    if mode == "markdownv2":
        return _plain_from_markdown_v2(text)
    if mode == "markdown":
        return _plain_from_markdown(text)
    raise bad_request(f'unsupported parse_mode "{parse_mode}"')


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram measures texts in (an emoji counts 2)."""
    return len(text.encode("utf-16-le")) // 2
