"""`python -m bot`: run the Telegram bot process."""

from bot.main import run_bot
from core.logs import configure_logging
from core.settings import load_settings

if __name__ == "__main__":
    settings = load_settings()
    configure_logging(settings.log_level)
    run_bot(settings)
