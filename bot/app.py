"""The application factory: all Telegram wiring in one place."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker
from telegram import BotCommand, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import handlers, identity, inbound, jobs, relay, review, staffadmin, staffdesk
from bot.context import BotContext
from bot.rasa import RasaClient
from bot.services import BotServices
from bot.texts import COMMAND_DESCRIPTIONS
from core.settings import Settings

logger = logging.getLogger(__name__)

LOG_GROUP = -2
# Conversations a human has are carried by the relay before any customer handler (or Rasa) sees them.
HANDOFF_GROUP = -1
MAIN_GROUP = 0
CLOSE_GROUP = 1


async def post_init(application: Application) -> None:
    """Open the shared Rasa client and publish the command menu."""
    svc: BotServices = application.bot_data["services"]
    # Bot API URLs contain the token: never let httpx log them.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    svc.rasa = RasaClient(svc.settings.effective_rasa_url, timeout=svc.settings.rasa_timeout_seconds)
    commands = [BotCommand(name, desc["en"]) for name, desc in COMMAND_DESCRIPTIONS.items()]
    await application.bot.set_my_commands(commands)
    await application.bot.set_my_commands(
        [BotCommand(name, desc["zh"]) for name, desc in COMMAND_DESCRIPTIONS.items()], language_code="zh"
    )
    if svc.settings.staff_chat_id is None:
        logger.warning("PARCELDESK_STAFF_CHAT_ID is not set: escalations are queued but not announced to staff")
    if application.job_queue is not None:
        application.job_queue.run_repeating(
            jobs.handoff_tick, interval=svc.settings.handoff_job_interval_seconds, first=1, name=jobs.JOB_NAME
        )


async def post_shutdown(application: Application) -> None:
    """Close the shared Rasa client."""
    svc: BotServices = application.bot_data["services"]
    if svc.rasa is not None:
        await svc.rasa.aclose()


def build_application(settings: Settings, sessions: sessionmaker[Session]) -> Application:
    """Build the bot: logging of every update, commands, customer text, buttons and polite fallbacks."""
    application = (
        ApplicationBuilder()
        .token(settings.bot_token)
        .base_url(settings.bot_api_base_url)
        .base_file_url(settings.bot_file_base_url)
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .context_types(ContextTypes(context=BotContext))
        .build()
    )
    application.bot_data["services"] = BotServices(settings=settings, sessions=sessions)

    application.add_handler(TypeHandler(Update, inbound.log_inbound), group=LOG_GROUP)

    # Customers talk to the bot in private chats; group chats are for staff (another handler set).
    customer_message = filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE
    text_message = customer_message & filters.TEXT
    application.add_handler(
        MessageHandler(filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE & ~filters.COMMAND, relay.route_message),
        group=HANDOFF_GROUP,
    )

    application.add_handler(CommandHandler("start", handlers.start), group=MAIN_GROUP)
    application.add_handler(CommandHandler("help", handlers.help_command), group=MAIN_GROUP)
    application.add_handler(CommandHandler("language", handlers.language_command), group=MAIN_GROUP)
    application.add_handler(CommandHandler("human", relay.human_command), group=MAIN_GROUP)
    application.add_handler(CommandHandler("link", identity.link_command), group=MAIN_GROUP)
    # Staff commands answer non-staff with the same polite unknown-command reply as any unknown command.
    application.add_handler(CommandHandler("queue", staffdesk.queue_command), group=MAIN_GROUP)
    application.add_handler(CommandHandler("profile", staffdesk.profile_command), group=MAIN_GROUP)
    application.add_handler(CommandHandler("note", staffdesk.note_command), group=MAIN_GROUP)
    application.add_handler(CommandHandler("transfer", staffdesk.transfer_command), group=MAIN_GROUP)
    application.add_handler(CommandHandler("resolve", staffdesk.resolve_command), group=MAIN_GROUP)
    application.add_handler(CommandHandler("staff", staffadmin.staff_command), group=MAIN_GROUP)
    application.add_handler(CommandHandler("tag", review.tag_command), group=MAIN_GROUP)
    application.add_handler(CommandHandler("review", review.review_command), group=MAIN_GROUP)
    application.add_handler(MessageHandler(filters.COMMAND, handlers.unknown_command), group=MAIN_GROUP)
    application.add_handler(CallbackQueryHandler(handlers.language_chosen, pattern=r"^lang:"), group=MAIN_GROUP)
    application.add_handler(CallbackQueryHandler(staffdesk.claim_pressed, pattern=r"^claim:"), group=MAIN_GROUP)
    application.add_handler(CallbackQueryHandler(staffdesk.resolve_pressed, pattern=r"^resolve:"), group=MAIN_GROUP)
    application.add_handler(CallbackQueryHandler(staffdesk.profile_pressed, pattern=r"^profile:"), group=MAIN_GROUP)
    application.add_handler(CallbackQueryHandler(staffdesk.tag_pressed, pattern=r"^tag:"), group=MAIN_GROUP)
    application.add_handler(CallbackQueryHandler(relay.rating_pressed, pattern=r"^rate:"), group=MAIN_GROUP)
    application.add_handler(CallbackQueryHandler(review.review_pressed, pattern=r"^rv:"), group=MAIN_GROUP)
    application.add_handler(CallbackQueryHandler(handlers.button_pressed, pattern=r"."), group=MAIN_GROUP)
    application.add_handler(CallbackQueryHandler(handlers.stale_button), group=MAIN_GROUP)
    application.add_handler(MessageHandler(text_message & ~filters.COMMAND, handlers.customer_text), group=MAIN_GROUP)
    application.add_handler(
        MessageHandler(customer_message & filters.CONTACT, identity.contact_shared), group=MAIN_GROUP
    )
    application.add_handler(
        MessageHandler(
            customer_message & ~filters.TEXT & ~filters.StatusUpdate.ALL & ~filters.ATTACHMENT, handlers.empty_text
        ),
        group=MAIN_GROUP,
    )
    application.add_handler(
        MessageHandler(customer_message & ~filters.TEXT & ~filters.StatusUpdate.ALL, handlers.non_text),
        group=MAIN_GROUP,
    )

    application.add_handler(TypeHandler(Update, inbound.mark_handled), group=CLOSE_GROUP)
    application.add_error_handler(handlers.on_error)
    return application
