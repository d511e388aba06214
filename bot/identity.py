"""Linking a Telegram account to a customer: the share-contact button and what it sends back."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session
from telegram import ReplyKeyboardRemove, Update

from bot.context import BotContext
from bot.rendering import OutgoingMessage, contact_keyboard
from bot.speech import chat_language, send
from bot.texts import text
from crm.chats import reply_language
from crm.identity import displaced_account, first_name, link_contact

logger = logging.getLogger(__name__)


async def link_command(update: Update, context: BotContext) -> None:
    """Explain why we ask, and show Telegram's share-contact button."""
    chat_id = update.effective_chat.id
    language = await chat_language(context, chat_id, None, update)
    keyboard = contact_keyboard(text("link_button", language))
    await send(context, chat_id, OutgoingMessage(text("link_prompt", language), keyboard))


async def contact_shared(update: Update, context: BotContext) -> None:
    """Link the account when the shared contact is the sender's own and its phone matches a customer."""
    message = update.effective_message
    chat_id = update.effective_chat.id
    user = update.effective_user
    contact = message.contact
    language = await chat_language(context, chat_id, None, update)
    # Telegram fills contact.user_id with the sender's id only for their own contact (request_contact);
    # a forwarded or typed-in contact of someone else must not unlock that person's parcels.
    if user is None or contact.user_id != user.id:
        logger.info("chat %s shared a contact that is not the sender's own; not linking", chat_id)
        keyboard = contact_keyboard(text("link_button", language))
        await send(context, chat_id, OutgoingMessage(text("link_not_own", language), keyboard))
        return

    def link(session: Session) -> tuple[str | None, int | None, str]:
        displaced = displaced_account(session, telegram_user_id=user.id, phone=contact.phone_number)
        customer = link_contact(session, telegram_user_id=user.id, phone=contact.phone_number, chat_id=chat_id)
        # The account that lost the link hears of it in its own private chat's language.
        displaced_language = reply_language(session, displaced, None) if displaced is not None else language
        return (first_name(customer) if customer is not None else None), displaced, displaced_language

    name, displaced, displaced_language = await context.services.db(link)
    if name is None:
        logger.info("chat %s shared a phone number that matches no customer", chat_id)
        await send(context, chat_id, OutgoingMessage(text("link_not_found", language), ReplyKeyboardRemove()))
        return
    logger.info("chat %s linked to a customer", chat_id)
    await send(context, chat_id, OutgoingMessage(text("link_done", language, name=name), ReplyKeyboardRemove()))
    if displaced is not None:
        # Whoever proves the phone last holds the link; the account that held it must not lose it silently.
        logger.info("the customer's link moved from another Telegram account to chat %s", chat_id)
        await send(context, displaced, OutgoingMessage(text("link_moved", displaced_language)))
