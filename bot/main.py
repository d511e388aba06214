"""Run the bot process: polling by default, webhook (with a secret token) when a public URL is set."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from telegram import Update

from bot.app import build_application
from crm.db import make_engine, make_sessionmaker
from parceldesk.settings import Settings

logger = logging.getLogger(__name__)


def run_bot(settings: Settings) -> None:
    """Start the bot and block until it is stopped (SIGINT/SIGTERM)."""
    # Bot API URLs contain the token: never let httpx log them.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    engine = make_engine(settings.effective_database_url, schema=settings.database_schema)
    application = build_application(settings, make_sessionmaker(engine))
    if settings.webhook_url:
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
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
    engine.dispose()
