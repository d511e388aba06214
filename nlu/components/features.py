"""Sentence features for our linear classifiers: the sparse block and each dense encoder's block, each normalised.

Rasa concatenates the dense sentence vectors of all featurizers into one array; we keep them apart instead, so
each encoder (USE, e5) is mean-centred with its own training mean and L2-normalised on its own. Centring
matters: raw sentence embeddings share a large common direction (every text looks alike to a cosine), and
an encoder whose vectors sit in a narrow cone would count for little next to the other after normalisation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.message import Message
from scipy.sparse import csr_matrix, hstack, vstack
from sklearn.preprocessing import normalize


def _dense_blocks(message: Message) -> dict[str, np.ndarray]:
    """The message's dense sentence vectors, one per featurizer (by origin)."""
    blocks: dict[str, np.ndarray] = {}
    for features in message.features:
        if features.attribute == TEXT and features.type == FEATURE_TYPE_SENTENCE and features.is_dense():
            origin = features.origin if isinstance(features.origin, str) else "+".join(features.origin or ["dense"])
            blocks[origin] = np.asarray(features.features, dtype=np.float64).reshape(-1)
    return blocks


class SentenceFeatures:
    """Turns featurized messages into rows [L2(sparse), L2(dense₁ − mean₁), L2(dense₂ − mean₂), …]."""

    FILE = "dense_means.npz"

    def __init__(self, means: dict[str, np.ndarray] | None = None, *, centre: bool = True) -> None:
        """means: each dense block's training mean (empty until fit)."""
        self.means = means or {}
        self.centre = centre

    def fit(self, messages: list[Message]) -> SentenceFeatures:
        """Learn each dense block's mean over the training messages."""
        sums: dict[str, list[np.ndarray]] = {}
        for message in messages:
            for origin, vector in _dense_blocks(message).items():
                sums.setdefault(origin, []).append(vector)
        self.means = {origin: np.mean(vectors, axis=0) for origin, vectors in sums.items()} if self.centre else {}
        return self

    def transform_blocks(self, messages: list[Message]) -> tuple[csr_matrix, np.ndarray]:
        """The rows in two parts: L2(sparse) as CSR and the L2(dense − mean) blocks side by side as one array.

        Kept apart for fitting (nlu/components/linear.py multiplies the dense part as a dense array); the columns
        are in the order of transform().
        """
        sparse_rows: list[list[csr_matrix]] = []
        dense_rows: dict[str, list[np.ndarray]] = {}
        for message in messages:
            # The sparse sentence features in the order they were added, as Message.get_sparse_features combines
            # them, without its deep copies of the (unused) sequence features: that cost seconds per training.
            sparse_rows.append(
                [
                    f.features
                    for f in message.features
                    if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE and f.is_sparse()
                ]
            )
            for origin, vector in _dense_blocks(message).items():
                dense_rows.setdefault(origin, []).append(vector)
        widths = {len(row) for row in sparse_rows}
        if len(widths) > 1:
            raise ValueError("sparse sentence features from different featurizers on different messages")
        if not messages or widths == {0}:
            sparse_block = csr_matrix((len(messages), 0))
        else:
            # One block per featurizer, stacked over the messages, then side by side.
            columns = [vstack([row[j] for row in sparse_rows]) for j in range(widths.pop())]
            sparse_block = normalize(hstack(columns).tocsr())
        dense_blocks = []
        for origin, vectors in sorted(dense_rows.items()):
            if len(vectors) != len(messages):
                raise ValueError(f"dense features from {origin!r} on some messages only")
            block = np.vstack(vectors)
            if self.means:
                if origin not in self.means:
                    # A featurizer the model was not trained with: its vectors would go in uncentred.
                    raise ValueError(f"dense features from {origin!r}, trained with {sorted(self.means)}")
                block = block - self.means[origin]
            dense_blocks.append(normalize(block))
        dense = np.hstack(dense_blocks) if dense_blocks else np.zeros((len(messages), 0))
        return sparse_block, dense

    def transform(self, messages: list[Message]) -> csr_matrix:
        """One row per message: [L2(sparse), L2(dense₁ − mean₁), …] as one CSR matrix."""
        sparse, dense = self.transform_blocks(messages)
        return hstack([sparse, csr_matrix(dense)]).tocsr()

    def save(self, directory: Path) -> None:
        """Store the means (plain arrays, no pickle)."""
        np.savez(directory / self.FILE, **{f"mean:{k}": v for k, v in self.means.items()})

    @classmethod
    def load(cls, directory: Path, *, centre: bool = True) -> SentenceFeatures:
        """Read the means saved by save (none when the file is missing: a model from before centring)."""
        path = directory / cls.FILE
        if not path.exists():
            return cls({}, centre=centre)
        with np.load(path, allow_pickle=False) as stored:
            return cls({k.removeprefix("mean:"): stored[k] for k in stored.files}, centre=centre)
