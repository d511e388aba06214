"""The intents a message may be labelled with: domain.yml's intents, retrieval intents by their sub-intents."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from nlu.examples import load_examples

# Predicted by the FallbackClassifier, never a label: it means "the model did not know".
NOT_LABELS = frozenset({"nlu_fallback"})


def domain_intents(domain_file: Path) -> list[str]:
    """The intent names declared in a Rasa domain file (entries may be plain names or one-key mappings)."""
    document = yaml.safe_load(domain_file.read_text(encoding="utf-8")) or {}
    names: list[str] = []
    for item in document.get("intents") or []:
        names.append(next(iter(item)) if isinstance(item, dict) else str(item))
    return names


def labelling_intents(project_root: Path) -> tuple[str, ...]:
    """Every valid label: domain intents, with a retrieval intent (faq) replaced by its sub-intents (faq/…)."""
    sub_intents: dict[str, set[str]] = {}
    for example in load_examples([project_root / "nlu" / "data"]):
        if "/" in example.intent:
            parent = example.intent.split("/", 1)[0]
            sub_intents.setdefault(parent, set()).add(example.intent)
    labels: list[str] = []
    for name in domain_intents(project_root / "domain.yml"):
        if name in NOT_LABELS:
            continue
        labels.extend(sorted(sub_intents[name]) if name in sub_intents else [name])
    return tuple(labels)


@cache
def cached_labelling_intents(project_root: Path) -> tuple[str, ...]:
    """labelling_intents, read once per process (the bot asks on every /tag and /review)."""
    return labelling_intents(project_root)
