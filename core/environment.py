"""What a child process may inherit from our environment: system basics and non-secret settings, never secrets.

The supervisor (parceldesk/processes.py) and the engine toolchain (nlu/toolchain.py) start other programs:
the bot, the action server, the sandbox, Rasa (third-party code). Each gets this filtered copy of our
environment plus the resolved settings and exactly the secrets it needs, added by whoever starts it. A
secret is any setting typed SecretStr (the bot token, the database URL, webhook and API tokens…), under
its PARCELDESK_ name and its aliases (TELEGRAM_BOT_TOKEN); a new SecretStr setting is covered by itself.
"""

from __future__ import annotations

import os
import typing
from collections.abc import Mapping

from pydantic import AliasChoices, SecretStr

from core.settings import NO_ENV_FILE_ENV, Settings

ENV_PREFIX = "PARCELDESK_"
# Names every program may need: where things are, language and time zone, temp dirs, TLS roots, proxies.
SYSTEM_NAMES = frozenset(
    {
        "PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "LANG", "LANGUAGE", "TZ",
        "TMPDIR", "TEMP", "TMP", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
        "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "no_proxy", "all_proxy",
        "VIRTUAL_ENV", "CI", "NO_COLOR", "FORCE_COLOR",
        # A supervised child's own children do not read .env either (core/settings.py).
        NO_ENV_FILE_ENV,
    }
)
# Families of tuning variables: locale, XDG dirs, the interpreter, coverage of subprocesses in tests, the servers'
# own knobs (Sanic workers, Rasa's options) and the numeric libraries the Rasa engine loads (threads, caches).
SYSTEM_PREFIXES = (
    "LC_", "XDG_", "PYTHON", "COV_CORE_", "COVERAGE_", "SANIC_", "ACTION_SERVER_", "RASA_", "OMP_", "MKL_",
    "OPENBLAS_", "TF_", "CUDA_", "HF_", "TRANSFORMERS_", "SENTENCE_TRANSFORMERS_",
)


def _is_secret(annotation: object) -> bool:
    """True for SecretStr and optional SecretStr annotations."""
    return annotation is SecretStr or SecretStr in typing.get_args(annotation)


def secret_names() -> frozenset[str]:
    """Environment variable names that carry a secret setting (PARCELDESK_<NAME> and any alias)."""
    names: set[str] = set()
    for name, field in Settings.model_fields.items():
        if not _is_secret(field.annotation):
            continue
        names.add(f"{ENV_PREFIX}{name.upper()}")
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(choice for choice in alias.choices if isinstance(choice, str))
        elif isinstance(alias, str):
            names.add(alias)
    return frozenset(names)


def setting_names() -> frozenset[str]:
    """Environment variable names of every non-secret setting (PARCELDESK_<NAME>)."""
    fields = Settings.model_fields.items()
    return frozenset(f"{ENV_PREFIX}{name.upper()}" for name, field in fields if not _is_secret(field.annotation))


def inherited_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The part of our environment a child may see: system variables and non-secret settings only."""
    source = os.environ if environ is None else environ
    secrets, settings = secret_names(), setting_names()
    kept: dict[str, str] = {}
    for key, value in source.items():
        if key in secrets:
            continue
        if key in SYSTEM_NAMES or key.startswith(SYSTEM_PREFIXES) or key in settings:
            kept[key] = value
    return kept
