"""Local stand-in for the Telegram Bot API (the "sandbox") used for development and tests."""
