"""A Rasa 3.6 training-data step: adds seeded, mistyped and loosely worded copies of the intent examples.

Customers type on phones: pinyin homophones in Chinese, slips and glued words in English (nlu/components/
noise.py). They also wrap a request in greetings, politeness and a bit of their story, run sentences together
and use other words for the same thing (nlu/components/paraphrase.py). The training data is written cleanly and
directly, so each intent example without entities gets `copies` noisy variants and `paraphrases` loosely worded
ones, generated at training time from (text, intent, seed): the same data always gives the same augmented set,
and nothing is pasted into nlu/data/. Both kinds are made from the original example, never from each other.
Examples with entities are left alone (a change would move the entity's offsets). At inference the component
does nothing.

Must come first in the pipeline (config.yml), so the copies are tokenized and featurized like the originals.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RESPONSE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.components.noise import noisy_variant
from nlu.components.paraphrase import paraphrase
from nlu.components.source import SourceFingerprinted

logger = logging.getLogger(__name__)


# On a typo copy: the text it was made from. A sentence encoder may encode that instead of the copy (the copy's own
# n-grams and the other encoder still carry the typos), which saves a third of the e5 encoding at training time.
TYPO_SOURCE = "parceldesk_typo_of"
# On a paraphrase copy: the text it was made from, for the same purpose (the other half of the e5 encoding).
PARAPHRASE_SOURCE = "parceldesk_paraphrase_of"


# Registered as a tokenizer-stage component: the recipe runs components in config order, and this one must
# see the training data before the real tokenizer does.
@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class TypoAugmenter(SourceFingerprinted, GraphComponent):
    """Adds `copies` mistyped and `paraphrases` loosely worded variants (seeded) of every example without entities."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Two typo copies and no paraphrase per example; the seed fixes which changes are made."""
        return {"copies": 2, "paraphrases": 0, "seed": 14}

    def __init__(self, config: dict[str, Any]) -> None:
        """Keep the config."""
        self._config = {**self.get_default_config(), **config}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> TypoAugmenter:
        """A new augmenter (nothing to train)."""
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """The training data plus the noisy and paraphrased copies (duplicates of existing texts are skipped)."""
        seen = {m.get(TEXT) for m in training_data.training_examples}
        extra: list[Message] = []
        seed = int(self._config["seed"])
        for example in training_data.intent_examples:
            text = example.get(TEXT)
            if not text or example.get(ENTITIES):
                continue
            intent = str(example.get(INTENT))
            variants = [(noisy_variant(text, seed + copy), True) for copy in range(int(self._config["copies"]))]
            variants += [
                (paraphrase(text, intent, seed + copy), False) for copy in range(int(self._config["paraphrases"]))
            ]
            for variant, typo in variants:
                if variant and variant not in seen:
                    seen.add(variant)
                    data = {TEXT: variant, INTENT: example.get(INTENT)}
                    data[TYPO_SOURCE if typo else PARAPHRASE_SOURCE] = text
                    if example.get(INTENT_RESPONSE_KEY):
                        data[INTENT_RESPONSE_KEY] = example.get(INTENT_RESPONSE_KEY)
                    extra.append(Message(data=data))
        logger.info(
            "TypoAugmenter: %d noisy or paraphrased copies added to %d examples",
            len(extra),
            len(training_data.intent_examples),
        )
        return training_data.merge(TrainingData(training_examples=extra))

    def process(self, messages: list[Message]) -> list[Message]:
        """Inference: messages pass unchanged."""
        return messages

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> TypoAugmenter:
        """Nothing is persisted."""
        return cls(config)
