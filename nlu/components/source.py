"""A fingerprint of our components' source code, for Rasa's training cache."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


@cache
def components_fingerprint() -> str:
    """Hash of every file in nlu/components (their helpers included: noise, paraphrase, linear, features …)."""
    digest = hashlib.sha256()
    for path in sorted(HERE.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(HERE).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


class SourceFingerprinted:
    """Mixin: a component whose cached training output is invalidated by any change to nlu/components.

    Rasa keys its training cache on the component class's own source (inspect.getsource) and config only, so a
    change to a helper module (e.g. the solver in linear.py or the typo rules in noise.py) would let a later
    training reuse an output computed by the old code. List this mixin first among the bases.
    """

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """The components' source hash (Rasa adds it to the node's fingerprint key)."""
        return components_fingerprint()
