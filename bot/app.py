"""The application factory: all Telegram wiring in one place."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker
from telegram import BotCommand, Update
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import (
    complaintdesk,
    complaintjobs,
    handlers,
    identity,
    inbound,
    jobs,
    modeldesk,
    notices,
    outbox,
    privacy,
    redelivery,
    relay,
    reports,
    review,
    staffadmin,
    staffdesk,
    waiting,
)
from bot.context import BotContext
from bot.rasa import RasaClient
from bot.services import BotServices
from bot.spool import Spool
from bot.texts import COMMAND_DESCRIPTIONS
from bot.updates import PerChatUpdateProcessor
from core.settings import Settings
from core.tokens import rasa_token

logger = logging.getLogger(__name__)

LOG_GROUP = -3
# A message the complaint desk waits for (a staff member's note or result, a customer's words) comes before the relay.
DESK_INPUT_GROUP = -2
# Conversations a human has are carried by the relay before any customer handler (or Rasa) sees them.
HANDOFF_GROUP = -1
MAIN_GROUP = 0
CLOSE_GROUP = 1


async def post_init(application: Application) -> None:
    """Open the shared Rasa client and publish the command menu."""
    svc: BotServices = application.bot_data["services"]
    # Bot API URLs contain the token: never let httpx log them.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # The job queue logs every one-off job's random hex id ("Removed job e1c3…"): noise, and digit runs in it read
    # like phone numbers to the personal-data scan of the logs.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    svc.rasa = RasaClient(
        svc.settings.effective_rasa_url, timeout=svc.settings.rasa_timeout_seconds, token=rasa_token(svc.settings)
    )
    commands = [BotCommand(name, desc["en"]) for name, desc in COMMAND_DESCRIPTIONS.items()]
    await application.bot.set_my_commands(commands)
    await application.bot.set_my_commands(
        [BotCommand(name, desc["zh"]) for name, desc in COMMAND_DESCRIPTIONS.items()], language_code="zh"
    )
    await publish_name(application, svc.settings)
    await outbox.load_waiting_chats(svc)
    # A retrain the previous bot process did not live to finish: its admin is told on its progress message.
    await modeldesk.report_interrupted(application)
    if svc.settings.staff_chat_id is None:
        logger.warning("PARCELDESK_STAFF_CHAT_ID is not set: escalations are queued but not announced to staff")
    if application.job_queue is not None:
        application.job_queue.run_repeating(
            jobs.handoff_tick, interval=svc.settings.handoff_job_interval_seconds, first=1, name=jobs.JOB_NAME
        )
        application.job_queue.run_repeating(
            complaintjobs.complaint_tick, interval=svc.settings.handoff_job_interval_seconds, first=2,
            name=complaintjobs.JOB_NAME,
        )
        application.job_queue.run_repeating(
            notices.notice_tick, interval=svc.settings.notice_job_interval_seconds, first=1, name=notices.JOB_NAME
        )
        # Spooled updates (database was unreachable) are handled once it answers; a no-op while the spool is empty.
        application.job_queue.run_repeating(
            inbound.replay_spool, interval=svc.settings.spool_retry_seconds, first=1, name="spool"
        )
        # Messages Telegram did not take are retried from the outbox table: a restart simply carries on.
        application.job_queue.run_repeating(
            redelivery.outbox_tick, interval=svc.settings.outbox_retry_seconds, first=1, name=redelivery.JOB_NAME
        )
        # Retention decides everything from the data, so a restart simply runs it again soon.
        application.job_queue.run_repeating(
            privacy.retention_tick, interval=svc.settings.retention_job_hours * 3600,
            first=privacy.RETENTION_FIRST_SECONDS, name=privacy.JOB_NAME,
        )


async def publish_name(application: Application, settings: Settings) -> None:
    """Name the bot in Telegram after the brand (default: English, Chinese clients: Chinese), when it differs."""
    for language_code, name in ((None, settings.brand_name("en")), ("zh", settings.brand_name("zh"))):
        try:
            # Telegram rate-limits setMyName hard: ask first, so a restart sets nothing that is already right.
            current = await application.bot.get_my_name(language_code=language_code)
            if current.name != name:
                await application.bot.set_my_name(name, language_code=language_code)
        except TelegramError as exc:  # the name is cosmetic: the bot works without it
            logger.warning("could not set the bot's name for language %s: %s", language_code or "default", exc)


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
        .concurrent_updates(PerChatUpdateProcessor(settings.max_working_updates))
        .rate_limiter(
            AIORateLimiter(
                overall_max_rate=settings.telegram_messages_per_second,
                group_max_rate=settings.telegram_group_messages_per_minute,
                max_retries=settings.telegram_retries,
            )
        )
        .build()
    )
    application.bot_data["services"] = BotServices(
        settings=settings, sessions=sessions, spool=Spool(settings.effective_spool_dir)
    )

    application.add_handler(TypeHandler(Update, inbound.log_inbound), group=LOG_GROUP)

    # Customers talk to the bot in private chats; group chats are for staff (another handler set).
    customer_message = filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE
    text_message = customer_message & filters.TEXT
    application.add_handler(
        MessageHandler(filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE & ~filters.COMMAND,
                       complaintdesk.desk_input),
        group=DESK_INPUT_GROUP,
    )
    application.add_handler(
        MessageHandler(filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE & ~filters.COMMAND, relay.route_message),
        group=HANDOFF_GROUP,
    )

    application.add_handler(CommandHandler("start", handlers.start), group=MAIN_GROUP)
    application.add_handler(CommandHandler("help", handlers.help_command), group=MAIN_GROUP)
    application.add_handler(CommandHandler("language", handlers.language_command), group=MAIN_GROUP)
    application.add_handler(CommandHandler("human", relay.human_command), group=MAIN_GROUP)
    application.add_handler(CommandHandler("link", identity.link_command), group=MAIN_GROUP)
    application.add_handler(CommandHandler("forget", privacy.forget_command), group=MAIN_GROUP)
    application.add_handler(CommandHandler("notify", notices.notify_command), group=MAIN_GROUP)
    # Staff commands answer non-staff with the same polite unknown-command reply as any unknown command.
    application.add_handler(CommandHandler("queue", staffdesk.queue_command), group=MAIN_GROUP)
    application.add_handler(CommandHandler("profile", staffdesk.profile_command), group=MAIN_GROUP)
    application.add_handler(CommandHandler("note", staffdesk.note_command), group=MAIN_GROUP)
    application.add_handler(CommandHandler("transfer", staffdesk.transfer_command), group=MAIN_GROUP)
    application.add_handler(CommandHandler("resolve", staffdesk.resolve_command), group=MAIN_GROUP)
    application.add_handler(CommandHandler("staff", staffadmin.staff_command), group=MAIN_GROUP)
    application.add_handler(CommandHandler("tag", review.tag_command), group=MAIN_GROUP)
    application.add_handler(CommandHandler("review", review.review_command), group=MAIN_GROUP)
    application.add_handler(CommandHandler("retrain", modeldesk.retrain_command), group=MAIN_GROUP)
    application.add_handler(CommandHandler("rollback", modeldesk.rollback_command), group=MAIN_GROUP)
    application.add_handler(CommandHandler("complaints", complaintdesk.complaints_command), group=MAIN_GROUP)
    application.add_handler(CommandHandler("cancel", complaintdesk.cancel_command), group=MAIN_GROUP)
    application.add_handler(CommandHandler("report", reports.report_command), group=MAIN_GROUP)
    application.add_handler(MessageHandler(filters.COMMAND, handlers.unknown_command), group=MAIN_GROUP)
    application.add_handler(CallbackQueryHandler(handlers.language_chosen, pattern=r"^lang:"), group=MAIN_GROUP)
    application.add_handler(CallbackQueryHandler(staffdesk.claim_pressed, pattern=r"^claim:"), group=MAIN_GROUP)
    application.add_handler(CallbackQueryHandler(staffdesk.resolve_pressed, pattern=r"^resolve:"), group=MAIN_GROUP)
    application.add_handler(CallbackQueryHandler(staffdesk.profile_pressed, pattern=r"^profile:"), group=MAIN_GROUP)
    application.add_handler(CallbackQueryHandler(staffdesk.tag_pressed, pattern=r"^tag:"), group=MAIN_GROUP)
    application.add_handler(CallbackQueryHandler(relay.rating_pressed, pattern=r"^rate:"), group=MAIN_GROUP)
    # The queue notices' "leave the queue" button is the bot's own: caught before Rasa's buttons (stale while queued).
    application.add_handler(
        CallbackQueryHandler(waiting.leave_pressed, pattern=rf"^{waiting.LEAVE}$"), group=MAIN_GROUP
    )
    application.add_handler(CallbackQueryHandler(review.review_pressed, pattern=r"^rv:"), group=MAIN_GROUP)
    application.add_handler(CallbackQueryHandler(modeldesk.desk_pressed, pattern=r"^md:"), group=MAIN_GROUP)
    application.add_handler(CallbackQueryHandler(complaintdesk.desk_pressed, pattern=r"^cd:"), group=MAIN_GROUP)
    application.add_handler(CallbackQueryHandler(complaintdesk.answer_pressed, pattern=r"^cf:"), group=MAIN_GROUP)
    # "Notify me" and the notices' unsubscribe button are the bot's own: caught before Rasa's buttons.
    application.add_handler(CallbackQueryHandler(notices.notify_pressed, pattern=r"^notify:"), group=MAIN_GROUP)
    application.add_handler(CallbackQueryHandler(notices.unnotify_pressed, pattern=r"^unnotify:"), group=MAIN_GROUP)
    application.add_handler(CallbackQueryHandler(privacy.forget_pressed, pattern=r"^forget:"), group=MAIN_GROUP)
    application.add_handler(CallbackQueryHandler(handlers.button_pressed, pattern=r"."), group=MAIN_GROUP)
    application.add_handler(CallbackQueryHandler(handlers.stale_button), group=MAIN_GROUP)
    # "删除我的数据" / "delete my data" is answered by the bot itself, before Rasa sees it.
    application.add_handler(
        MessageHandler(text_message & filters.Regex(privacy.FORGET_WORDS), privacy.forget_command), group=MAIN_GROUP
    )
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
