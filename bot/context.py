"""The handlers' typed context: the process's services and what the inbound log decided about this update."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.services import BotServices

if TYPE_CHECKING:
    from bot.cases import Route


@dataclass
class Inbound:
    """What the one inbound transaction decided about an update (read by every handler group after it)."""

    message_id: int
    # The language to answer a private chat in (None for group chats).
    language: str | None = None
    # Where a private message goes while a human has (or is about to have) the conversation.
    route: Route | None = None
    # The chat has an open or claimed escalation (bot buttons are stale then).
    queued: bool = False
    # An escalation whose hand-back to Rasa failed and must be retried before the next message.
    pending_resume: int | None = None
    # What this private message answers on the complaint desk (a staff member's note, result, …; a customer's words
    # after "not resolved"): crm.deskinput's kind, or None for an ordinary message.
    awaiting: str | None = None
    # The outcome transaction already marked it handled (the closing handler has nothing left to do).
    closed: bool = False


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """One update's context, shared by all handler groups (PTB builds it once per update)."""

    def __init__(self, application: Application, chat_id: int | None = None, user_id: int | None = None) -> None:
        """A context without an inbound decision yet (the log handler makes it)."""
        super().__init__(application, chat_id, user_id)
        self.inbound: Inbound | None = None

    @property
    def services(self) -> BotServices:
        """Settings, database and Rasa client of this bot process."""
        return self.application.bot_data["services"]
