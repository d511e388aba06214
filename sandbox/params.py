"""Decoding Bot API request parameters the way Telegram does: query string, form, multipart or JSON."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from sandbox.errors import bad_request

_NAME_RE = re.compile(r'\bname="([^"]*)"', re.IGNORECASE)
_FILENAME_RE = re.compile(r'\bfilename="([^"]*)"', re.IGNORECASE)
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


@dataclass(frozen=True)
class UploadedFile:
    """One file part of a multipart/form-data request."""

    filename: str
    content_type: str
    content: bytes


@dataclass
class Params:
    """Request parameters plus uploaded files, with typed accessors.

    Values stay as received (form and query values are strings; PTB JSON-encodes every non-string
    value, e.g. ``chat_id=123`` or ``reply_markup={"inline_keyboard": ...}``) and are converted
    per parameter by the accessor the handler uses, so a message text that happens to look like
    JSON is never decoded.
    """

    values: dict[str, Any] = field(default_factory=dict)
    files: dict[str, UploadedFile] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        """Whether the parameter was sent at all (as a value or as a file)."""
        return name in self.values or name in self.files

    def raw(self, name: str) -> Any:
        """The value as received (a str, or an already decoded JSON value), or None."""
        return self.values.get(name)

    def text(self, name: str, default: str | None = None) -> str | None:
        """The value as text; numbers and other JSON scalars are turned back into text."""
        value = self.values.get(name)
        if value is None:
            return default
        if isinstance(value, str):
            return value
        return json.dumps(value, ensure_ascii=False)

    def integer(self, name: str, default: int | None = None) -> int | None:
        """The value as an integer; a non-integer is a Bad Request."""
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            raise bad_request(f"invalid {name} specified")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        try:
            return int(str(value).strip())
        except ValueError:
            raise bad_request(f"invalid {name} specified") from None

    def required_integer(self, name: str, empty_detail: str | None = None) -> int:
        """An integer that must be present; missing gives '<name> is empty' (or the given detail)."""
        value = self.integer(name)
        if value is None:
            raise bad_request(empty_detail or f"{name} is empty")
        return value

    def number(self, name: str, default: float | None = None) -> float | None:
        """The value as a number of seconds or similar; a non-number is a Bad Request."""
        value = self.values.get(name)
        if value is None or value == "":
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def flag(self, name: str, default: bool = False) -> bool:
        """The value as a boolean (true/false/1/0, as Telegram accepts)."""
        value = self.values.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)):
            return bool(value)
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise bad_request(f"invalid {name} specified")

    def json_value(self, name: str) -> Any:
        """A JSON object/array parameter (already decoded, or decoded now); bad JSON is a Bad Request."""
        value = self.values.get(name)
        if value is None or not isinstance(value, str):
            return value
        if value == "":
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {name} JSON object") from None


def parse_multipart(body: bytes, content_type: str) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    """Split a multipart/form-data body into plain fields and file parts."""
    match = re.search(r'boundary="?([^";]+)"?', content_type, re.IGNORECASE)
    if not match:
        raise bad_request("multipart boundary is missing")
    delimiter = b"--" + match.group(1).encode("latin-1")
    fields: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk.removeprefix(b"\r\n").removesuffix(b"\r\n")
        head, separator, content = chunk.partition(b"\r\n\r\n")
        if not separator:
            continue
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        name_match = _NAME_RE.search(disposition)
        if not name_match:
            continue
        name = name_match.group(1)
        filename_match = _FILENAME_RE.search(disposition)
        if filename_match is not None or "content-type" in headers:
            files[name] = UploadedFile(
                filename=filename_match.group(1) if filename_match else name,
                content_type=headers.get("content-type", "application/octet-stream"),
                content=content,
            )
        else:
            fields[name] = content.decode("utf-8", "replace")
    return fields, files


async def read_params(request: Request) -> Params:
    """Collect parameters from the query string and the body, whatever its encoding."""
    values: dict[str, Any] = dict(request.query_params)
    files: dict[str, UploadedFile] = {}
    body = await request.body()
    content_type = request.headers.get("content-type", "").lower()
    if body:
        if content_type.startswith("multipart/form-data"):
            fields, files = parse_multipart(body, request.headers.get("content-type", ""))
            values.update(fields)
        elif content_type.startswith("application/json"):
            try:
                decoded = json.loads(body)
            except ValueError:
                raise bad_request("can't parse JSON request body") from None
            if not isinstance(decoded, dict):
                raise bad_request("JSON request body must be an object")
            values.update(decoded)
        else:
            values.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return Params(values=values, files=files)
