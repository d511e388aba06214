"""`python -m bot`: run the Telegram bot process."""

from bot.main import run_bot
from parceldesk.logs import configure_logging
from parceldesk.settings import load_settings

if __name__ == "__main__":
    settings = load_settings()
    configure_logging(settings.log_level)
    run_bot(settings)
