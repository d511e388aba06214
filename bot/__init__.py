"""The Telegram front end: the only process that talks to Telegram."""
