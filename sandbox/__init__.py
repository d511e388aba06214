"""Local stand-in for the Telegram Bot API (the "sandbox") for development and tests.

Run it with ``python -m sandbox --port 8081 [--token T]`` (or ``sandbox.app.serve``) and point the
real python-telegram-bot at it::

    Bot(token, base_url="http://127.0.0.1:8081/bot", base_file_url="http://127.0.0.1:8081/file/bot")

Tests play the human side through the control API (``/sandbox/api/...``, wrapped by
``sandbox.client.SandboxClient``); a person can chat with the bot at ``http://127.0.0.1:8081/``.
State lives in memory. The control API has no authentication: keep the sandbox on 127.0.0.1.
"""
