"""A content-hash cache of sentence-encoder vectors, so a retraining encodes only the texts it has not seen.

Encoding the training data (~10,000 texts with the typo copies) is most of a cold training's CPU time: e5 costs
16-27 ms per text, USE ~5 ms. Between two trainings most texts are unchanged, so each vector is stored under
sha256(encoder identity, text) in `$PARCELDESK_VECTOR_CACHE/<encoder identity>.npz` and reused. The identity
names the package and its version (and anything else that changes the output), so an upgraded encoder never
reads the vectors of the old one. Without the environment variable (tests, ad-hoc runs) nothing is cached.

Only training uses it: a served message is encoded once anyway, and the serving process should not hold the file.
Writes go to a temporary file moved into place, so two trainings at once can at worst lose each other's additions
(then re-encoded next time), never corrupt the file.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

ENVIRONMENT = "PARCELDESK_VECTOR_CACHE"


def _key(identity: str, text: str) -> bytes:
    """The cache key of one text (32 hex characters: collisions are not a concern at our sizes)."""
    return hashlib.sha256(f"{identity}\0{text}".encode()).hexdigest()[:32].encode()


def cache_file(identity: str) -> Path | None:
    """Where the vectors of this encoder live, or None when caching is off."""
    directory = os.environ.get(ENVIRONMENT)
    if not directory:
        return None
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in identity)
    return Path(directory) / f"{safe}.npz"


def _read(path: Path) -> dict[bytes, np.ndarray]:
    """The stored vectors by key (empty when the file is missing or unreadable)."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            return dict(zip(stored["keys"].tolist(), stored["vectors"], strict=True))
    except (OSError, KeyError, ValueError) as exc:
        if path.exists():
            logger.warning("vector cache %s unreadable (%s): starting a new one", path, exc)
        return {}


def _write(path: Path, vectors: dict[bytes, np.ndarray], dimensions: int) -> None:
    """Store all vectors (temporary file, then an atomic rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = np.array(list(vectors), dtype="S32")
    matrix = np.vstack(list(vectors.values())).astype(np.float32) if vectors else np.zeros((0, dimensions), np.float32)
    scratch = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
    np.savez(scratch, keys=keys, vectors=matrix)
    os.replace(scratch, path)


def cached_encode(
    identity: str, texts: list[str], encode: Callable[[list[str]], np.ndarray], dimensions: int
) -> np.ndarray:
    """encode(texts), taking the vectors of texts seen before from the cache and adding the new ones to it."""
    path = cache_file(identity)
    if path is None or not texts:
        return encode(texts)
    store = _read(path)
    keys = [_key(identity, text) for text in texts]
    missing: dict[bytes, str] = {}
    for key, text in zip(keys, texts, strict=True):
        if key not in store:
            missing.setdefault(key, text)
    if missing:
        fresh = encode(list(missing.values()))
        store.update(zip(missing, np.asarray(fresh, dtype=np.float32), strict=True))
        _write(path, store, dimensions)
    reused = len(texts) - len(missing)
    logger.info("%s: %d of %d texts encoded, %d from the cache", identity, len(missing), len(texts), reused)
    return np.vstack([store[key] for key in keys]).astype(np.float32)
