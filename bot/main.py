"""Run the bot process: polling by default, webhook (with a secret token) when a public URL is set."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from telegram import Update

from bot.app import build_application
from core.db import open_database
from core.settings import Settings

logger = logging.getLogger(__name__)


def run_bot(settings: Settings) -> None:
    """Start the bot and block until it is stopped (SIGINT/SIGTERM)."""
    problem = settings.bot_mode_error()
    if problem is not None:
        raise SystemExit(f"bot: {problem}")
    # Bot API URLs contain the token: never let httpx log them.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    database = open_database(settings)
    application = build_application(settings, database.sessions)
    if settings.webhook_url:
        # Settings refuse webhook mode without a secret; PTB then answers 403 to any call without the header.
        assert settings.webhook_secret is not None
        secret = settings.webhook_secret.get_secret_value()
        logger.info("bot running in webhook mode on %s:%s", settings.webhook_listen, settings.webhook_port)
        application.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            # Telegram posts to the public URL; a reverse proxy forwards that path to us unchanged.
            url_path=urlsplit(settings.webhook_url).path.lstrip("/"),
            webhook_url=settings.webhook_url,
            secret_token=secret,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        logger.info("bot polling %s", "the local sandbox" if settings.uses_sandbox else "Telegram")
        application.run_polling(allowed_updates=Update.ALL_TYPES, poll_interval=0.0, timeout=10)
    database.dispose()
