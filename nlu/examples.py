"""Read Rasa NLU YAML into plain examples (text, intent, entities, language) without importing Rasa."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

# [value](entity) or [value]{"entity": "name", ...}
_ANNOTATION = re.compile(r"\[(?P<value>[^\]]+)\](?:\((?P<entity>[^)]+)\)|\{(?P<json>[^}]*)\})")
_JSON_ENTITY = re.compile(r'"entity"\s*:\s*"(?P<name>[^"]+)"')
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class Example:
    """One labelled utterance."""

    text: str
    intent: str
    entities: tuple[tuple[str, str], ...]
    source: str

    @property
    def language(self) -> str:
        """'zh' when the text has Chinese characters, else 'en'."""
        return "zh" if _CJK.search(self.text) else "en"


def strip_annotations(annotated: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """Plain text and (entity, value) pairs of an annotated example."""
    entities: list[tuple[str, str]] = []

    def replace(match: re.Match[str]) -> str:
        name = match.group("entity")
        if name is None:
            found = _JSON_ENTITY.search(match.group("json") or "")
            name = found.group("name") if found else ""
        entities.append((name.split(":")[0], match.group("value")))
        return match.group("value")

    return _ANNOTATION.sub(replace, annotated), tuple(entities)


def _lines(block: str) -> Iterable[str]:
    """The items of a Rasa `examples: |` block."""
    for line in block.splitlines():
        line = line.strip()
        if line.startswith("- "):
            yield line[2:].strip()


def load_examples(paths: Iterable[Path]) -> list[Example]:
    """Every intent example in the given YAML files or folders (sorted, so results are reproducible)."""
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.rglob("*.yml")) if path.is_dir() else [path])
    examples: list[Example] = []
    for file in files:
        document = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        for item in document.get("nlu") or []:
            if "intent" not in item:
                continue
            for line in _lines(str(item.get("examples") or "")):
                text, entities = strip_annotations(line)
                examples.append(Example(text, str(item["intent"]), entities, str(file)))
    return examples
