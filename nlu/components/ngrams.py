"""A Rasa 3.6 sparse featurizer: Rasa's CountVectorsFeaturizer, run over all messages in one pass.

Rasa's CountVectorsFeaturizer featurizes one message at a time, with two sklearn `transform` calls per message and
attribute (one for the per-token sequence matrix, one for the sentence row). On our 25,000 training texts that was
over a minute of a cold training, most of it per-call overhead, and the per-token matrices of the character n-gram
featurizer were the largest part of the training's memory, though our classifiers read sentence features only
(nlu/components/features.py). This subclass keeps the vocabulary, the training and the persisted model of Rasa's
featurizer unchanged and computes the same rows with one `transform` per attribute for the whole batch.

`sequence_features: false` (the default here) adds no per-token matrices for text-like attributes (text,
response, action text). The one-token attributes (intent, action name) keep theirs, as Rasa makes them. A pipeline
with DIET or the neural ResponseSelector needs sequence features: set it to true there.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.shared.nlu.training_data.message import Message

from nlu.components.source import SourceFingerprinted


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class BatchedCountVectorsFeaturizer(SourceFingerprinted, CountVectorsFeaturizer):
    """CountVectorsFeaturizer with one transform per attribute for all messages; sentence rows only for text."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Rasa's defaults, plus whether text-like attributes also get per-token (sequence) features."""
        return {**CountVectorsFeaturizer.get_default_config(), "sequence_features": False}

    def process(self, messages: list[Message]) -> list[Message]:
        """Add the features of every message, attribute by attribute, each attribute in one batched transform."""
        if self.vectorizers is None:
            return super().process(messages)  # logs Rasa's "not trained" error and adds nothing
        for attribute in self._attributes:
            if not self.vectorizers.get(attribute) or self._get_attribute_vocabulary(attribute) is None:
                continue  # Rasa's _create_features adds nothing then either
            self._featurize_attribute(messages, attribute)
        return messages

    def _featurize_attribute(self, messages: list[Message], attribute: str) -> None:
        """The same sequence and sentence matrices Rasa computes per message, computed for all at once."""
        vectorizer = self.vectorizers[attribute]
        tokens = [self._get_processed_message_tokens_by_attribute(message, attribute) for message in messages]
        present = [index for index, found in enumerate(tokens) if found]
        if not present:
            return
        text_like = attribute in DENSE_FEATURIZABLE_ATTRIBUTES
        sentences = None
        if text_like:
            sentences = vectorizer.transform([" ".join(tokens[index]) for index in present]).tocsr()
            sentences.sort_indices()
        sequences = None
        offsets = np.zeros(1, dtype=np.int64)
        if self._config["sequence_features"] or not text_like:
            # Each token is one row, as in Rasa's transform(tokens); the messages' rows are then cut apart.
            sequences = vectorizer.transform([token for index in present for token in tokens[index]]).tocsr()
            sequences.sort_indices()
            offsets = np.concatenate([[0], np.cumsum([len(tokens[index]) for index in present])])
        for row, index in enumerate(present):
            sequence = _rows(sequences, offsets[row], offsets[row + 1]) if sequences is not None else None
            sentence = _rows(sentences, row, row + 1) if sentences is not None else None
            self.add_features_to_message(sequence, sentence, attribute, messages[index])


def _rows(matrix: scipy.sparse.csr_matrix, start: int, stop: int) -> scipy.sparse.coo_matrix:
    """Rows start..stop of a CSR matrix as COO, the format Rasa stores features in."""
    return matrix[int(start) : int(stop)].tocoo()
