"""A Rasa 3.6 training-data step: adds seeded, mistyped copies of the intent examples before tokenization.

Customers type on phones: pinyin homophones in Chinese, slips and glued words in English (nlu/components/
noise.py). The training data is written cleanly, so each intent example without entities gets `copies` noisy
variants, generated at training time from (text, seed): the same data always gives the same augmented set,
and nothing is pasted into nlu/data/. Examples with entities are left alone (a typo would move the entity's
offsets). At inference the component does nothing.

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

logger = logging.getLogger(__name__)


# Registered as a tokenizer-stage component: the recipe runs components in config order, and this one must
# see the training data before the real tokenizer does.
@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class TypoAugmenter(GraphComponent):
    """Adds `copies` mistyped variants (seeded) of every intent example that has no entities."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Two copies per example; the seed fixes which typos are made."""
        return {"copies": 2, "seed": 14}

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
        """The training data plus the noisy copies (duplicates of existing texts are skipped)."""
        seen = {m.get(TEXT) for m in training_data.training_examples}
        extra: list[Message] = []
        for example in training_data.intent_examples:
            text = example.get(TEXT)
            if not text or example.get(ENTITIES):
                continue
            for copy in range(int(self._config["copies"])):
                variant = noisy_variant(text, int(self._config["seed"]) + copy)
                if variant and variant not in seen:
                    seen.add(variant)
                    data = {TEXT: variant, INTENT: example.get(INTENT)}
                    if example.get(INTENT_RESPONSE_KEY):
                        data[INTENT_RESPONSE_KEY] = example.get(INTENT_RESPONSE_KEY)
                    extra.append(Message(data=data))
        logger.info(
            "TypoAugmenter: %d noisy copies added to %d examples", len(extra), len(training_data.intent_examples)
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
