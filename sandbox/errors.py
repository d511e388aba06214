"""The error type Bot API and control handlers raise, and its Telegram-shaped JSON."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A Telegram-style failure: HTTP status plus a description such as 'Bad Request: chat not found'."""

    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        """Remember the status code, description and optional response parameters."""
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        """The JSON body Telegram would send for this error."""
        body: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(detail: str) -> ApiError:
    """A 400 error with Telegram's 'Bad Request: ' prefix."""
    return ApiError(400, f"Bad Request: {detail}")
