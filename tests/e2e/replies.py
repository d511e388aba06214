"""What the bot should say: rendered from domain.yml and the database, so tests follow the real texts."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import yaml
from sqlalchemy.orm import Session

from bot.texts import TEXTS as BOT_TEXTS
from core.settings import PROJECT_ROOT, Settings
from crm.tracking import template_values, track

_CJK = re.compile(r"[\u4e00-\u9fff]")


@lru_cache(maxsize=1)
def _domain() -> dict[str, Any]:
    """The parsed domain.yml."""
    return yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))


def response_variants(name: str, language: str) -> list[str]:
    """The text variants of a domain response for a language (zh: conditioned on the slot; en: the default)."""
    variants = _domain()["responses"][name]
    chosen = []
    for variant in variants:
        conditions = variant.get("condition") or []
        languages = {c.get("value") for c in conditions if c.get("name") == "language"}
        if (language in languages) or (not languages and language == "en"):
            chosen.append(variant["text"])
    assert chosen, f"{name} has no {language} variant in domain.yml"
    return chosen


class _Unfilled(dict[str, str]):
    """Format values that leave a placeholder nobody gave as it is (matched loosely by pattern())."""

    def __missing__(self, key: str) -> str:
        """The placeholder itself."""
        return "{" + key + "}"


def brand(language: str) -> str:
    """The brand the test stacks run with (the settings' default), as a text in this language names it."""
    return str(Settings.model_fields[f"brand_name_{language}"].default)


def domain_text(name: str, language: str, **values: str) -> list[str]:
    """Every way the bot may render a response with these values (and the brand, as Rasa does) filled in."""
    filled = _Unfilled({"brand": brand(language), **values})
    return [text.format_map(filled) for text in response_variants(name, language)]


def tracking_reply(session: Session, number: str, language: str) -> list[str]:
    """What the tracking reply for a number must say, computed from the database."""
    view = track(session, number)
    assert view is not None, f"{number} is not in the test database"
    return domain_text(f"utter_track_{view.status.value}", language, **template_values(view, language))


def has_chinese(text: str) -> bool:
    """True if the text contains Chinese characters."""
    return bool(_CJK.search(text))


def pattern(template: str) -> re.Pattern[str]:
    """A regex matching a text template with any values in its {placeholders}."""
    parts = re.split(r"\{[a-z_]+\}", template)
    return re.compile("^" + "(.*?)".join(re.escape(part) for part in parts) + "$", re.DOTALL)


def is_text(body: str | None, key: str, language: str) -> bool:
    """Whether a message is the bot text `key` in `language`, whatever its values."""
    if body is None:
        return False
    # A template ending in an empty value ("...\n{summary}") is sent without its trailing line break.
    regex = pattern(BOT_TEXTS[key][language])
    return bool(regex.match(body) or regex.match(body + "\n"))
