"""A Rasa 3.6 response selector that is deterministic: logistic regression over the intent classifier's features.

Rasa's ResponseSelector is a small neural network: retrained on unchanged data it moved FAQ F1 by up to ±5
points, so the retraining gate (learning/gate.py) could reject a good candidate for noise. This one fits a
logistic regression (lbfgs, deterministic) on the same sentence features as SentenceIntentClassifier
(nlu/components/features.py): the same data gives the same model, bit for bit, and the same scores.

It writes the message property `response_selector` in Rasa's own format, so the retrieval action
(utter_faq → utter_faq/<sub-intent>) and engine/parse.py read it as they read the ResponseSelector's.
Runs inside the engine environment (Python 3.10); config.yml names it by module path.
"""

from __future__ import annotations

import json
import logging
import zlib
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import (
    RESPONSE_SELECTOR_PREDICTION_KEY,
    RESPONSE_SELECTOR_PROPERTY_NAME,
    RESPONSE_SELECTOR_RANKING_KEY,
    RESPONSE_SELECTOR_RESPONSES_KEY,
    RESPONSE_SELECTOR_RETRIEVAL_INTENTS,
    RESPONSE_SELECTOR_UTTER_ACTION_KEY,
)
from rasa.nlu.featurizers.featurizer import Featurizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import INTENT, INTENT_RESPONSE_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.linear_model import LogisticRegression

from nlu.components.features import SentenceFeatures
from nlu.components.linear import FastProbabilities, fit_logistic
from nlu.components.source import SourceFingerprinted

logger = logging.getLogger(__name__)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearResponseSelector(SourceFingerprinted, GraphComponent):
    """Picks the sub-intent (faq/shipping_fee, …) of one retrieval intent with a logistic regression."""

    @classmethod
    def required_components(cls) -> list[type]:
        """Needs sentence features."""
        return [Featurizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Same regularisation and stopping rule as the intent classifier (lbfgs is deterministic: no seed)."""
        return {"retrieval_intent": "faq", "C": 10.0, "max_iter": 3000, "tol": 1e-4, "ranking_length": 10}

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource) -> None:
        """An untrained selector."""
        self.config = {**self.get_default_config(), **config}
        self.clf: LogisticRegression | None = None
        self._probabilities: FastProbabilities | None = None
        self.features = SentenceFeatures()
        self.responses: dict[str, list[dict[str, Any]]] = {}
        self._model_storage = model_storage
        self._resource = resource

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LinearResponseSelector:
        """A new, untrained selector."""
        return cls(config, model_storage, resource)

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """A retrieval intent must be named; C must be positive."""
        if not config.get("retrieval_intent"):
            raise InvalidConfigException("LinearResponseSelector: set retrieval_intent (e.g. faq)")
        if float(config.get("C", 1.0)) <= 0:
            raise InvalidConfigException("LinearResponseSelector: C must be greater than 0")

    @property
    def retrieval_intent(self) -> str:
        """The retrieval intent this selector answers for."""
        return str(self.config["retrieval_intent"])

    def train(self, training_data: TrainingData) -> Resource:
        """Fit on the examples of the retrieval intent, labelled with their full key (faq/shipping_fee)."""
        examples = [
            e
            for e in training_data.intent_examples
            if e.get(INTENT) == self.retrieval_intent and e.get(INTENT_RESPONSE_KEY) and e.get(TEXT)
        ]
        self.responses = {
            k: v for k, v in training_data.responses.items() if k.startswith(f"utter_{self.retrieval_intent}/")
        }
        labels = sorted({str(e.get(INTENT_RESPONSE_KEY)) for e in examples})
        if len(labels) < 2:
            logger.debug("LinearResponseSelector: fewer than two sub-intents, nothing to train")
            return self._resource
        sparse, dense = self.features.fit(examples).transform_blocks(examples)
        self.clf = fit_logistic(
            sparse,
            dense,
            [str(e.get(INTENT_RESPONSE_KEY)) for e in examples],
            C=float(self.config["C"]),
            max_iter=int(self.config["max_iter"]),
            tol=float(self.config["tol"]),
            class_weight="balanced",
        )
        self.persist()
        return self._resource

    def _prediction(self, row: np.ndarray) -> dict[str, Any]:
        """Rasa's response_selector entry for one message's probabilities."""
        assert self.clf is not None
        classes = [str(c) for c in self.clf.classes_]
        order = np.argsort(-row)
        best = classes[order[0]]
        utter_action = f"utter_{best}"
        ranking = [
            {
                "id": zlib.crc32(classes[i].encode()),
                PREDICTED_CONFIDENCE_KEY: float(row[i]),
                INTENT_RESPONSE_KEY: classes[i],
            }
            for i in order[: int(self.config["ranking_length"])]
        ]
        return {
            RESPONSE_SELECTOR_PREDICTION_KEY: {
                RESPONSE_SELECTOR_RESPONSES_KEY: self.responses.get(utter_action) or [{TEXT: best}],
                PREDICTED_CONFIDENCE_KEY: float(row[order[0]]),
                INTENT_RESPONSE_KEY: best,
                RESPONSE_SELECTOR_UTTER_ACTION_KEY: utter_action,
            },
            RESPONSE_SELECTOR_RANKING_KEY: ranking,
        }

    def process(self, messages: list[Message]) -> list[Message]:
        """Add the selected sub-intent of the retrieval intent to every message with text."""
        todo = [m for m in messages if m.get(TEXT)]
        if self.clf is None or not todo:
            return messages
        if self._probabilities is None:
            self._probabilities = FastProbabilities(self.clf)
        for message, row in zip(todo, self._probabilities(self.features.transform(todo)), strict=True):
            properties = message.get(RESPONSE_SELECTOR_PROPERTY_NAME, {})
            properties[RESPONSE_SELECTOR_RETRIEVAL_INTENTS] = [self.retrieval_intent]
            properties[self.retrieval_intent] = self._prediction(row)
            message.set(RESPONSE_SELECTOR_PROPERTY_NAME, properties, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Training examples pass unchanged."""
        return training_data

    def persist(self) -> None:
        """Save the model with skops, the feature means as arrays and the responses as JSON."""
        import skops.io as sio

        with self._model_storage.write_to(self._resource) as directory:
            sio.dump(self.clf, directory / "selector.skops")
            self.features.save(directory)
            (directory / "responses.json").write_text(json.dumps(self.responses, ensure_ascii=False), "utf-8")

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LinearResponseSelector:
        """Load the fitted model; an untrained one loads empty."""
        import skops.io as sio

        component = cls(config, model_storage, resource)
        try:
            with model_storage.read_from(resource) as directory:
                path = directory / "selector.skops"
                untrusted = sio.get_untrusted_types(file=path)
                unexpected = [t for t in untrusted if not t.startswith(("sklearn.", "numpy."))]
                if unexpected:
                    raise InvalidConfigException(f"LinearResponseSelector: unexpected types {unexpected} in {path}")
                component.clf = sio.load(path, trusted=untrusted)
                component.features = SentenceFeatures.load(directory)
                component.responses = json.loads((directory / "responses.json").read_text("utf-8"))
        except ValueError:
            logger.debug("LinearResponseSelector: no trained model in %s", resource.name)
        return component
