"""`rasa train …` without Rasa re-hashing every featurized training message after every pipeline step.

Runs inside the engine environment: `<engine>/bin/python engine/train.py train --config config.yml …` (the same
arguments as `rasa`); nlu/toolchain.py trains every model through it.

Why: Rasa's training cache fingerprints each graph node's output (`TrainingHook.on_after_node`) and each node's
inputs again (`on_before_node`), to find which nodes a later training may skip. A node's output here is the whole
TrainingData with every token and feature matrix added so far, so each step hashes ~10,000 messages' tokens and
features twice — about 38% of the CPU of a cold training of config.yml (py-spy; nlu/results/issue14-probe.md).

What changes: a node's output fingerprint is its own fingerprint key — the hash of its component's code, config and
its inputs' fingerprints — instead of a hash of the output's content. The components are deterministic (seeded), so
the key identifies the output just as well; the only thing lost is noticing that a changed input happened to give
an unchanged output. Input nodes (the training data, domain and config read from disk) keep Rasa's real content
fingerprint, so a data change always reaches every node below it, and the fingerprint run (which decides what is
reused) computes the very same keys. An input that came from the cache (no key recorded in this run) is
fingerprinted the way Rasa does it. Rasa's cache can therefore never hand back an output trained on other data.
"""

from __future__ import annotations

import sys
from typing import Any


class _KnownFingerprint:
    """Stands in for a node output whose fingerprint is already known (Rasa calls .fingerprint() on inputs)."""

    def __init__(self, value: str) -> None:
        self.value = value

    def fingerprint(self) -> str:
        """The recorded fingerprint."""
        return self.value


def install_key_fingerprints() -> None:
    """Make Rasa's training graph use each node's fingerprint key as its output's fingerprint (idempotent)."""
    import rasa.engine.training.graph_trainer as graph_trainer
    import rasa.shared.utils.io
    from rasa.engine.graph import ExecutionContext
    from rasa.engine.training.components import PrecomputedValueProvider
    from rasa.engine.training.hooks import TrainingHook

    if getattr(graph_trainer.TrainingHook, "parceldesk_keys", False):
        return

    class KeyFingerprintHook(TrainingHook):
        """TrainingHook whose output fingerprints are the nodes' fingerprint keys (input nodes: their content)."""

        parceldesk_keys = True

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._fingerprints: dict[str, str] = {}

        def on_before_node(
            self,
            node_name: str,
            execution_context: ExecutionContext,
            config: dict[str, Any],
            received_inputs: dict[str, Any],
        ) -> dict:
            """The fingerprint key from the parents' recorded fingerprints where this run recorded them."""
            needs = execution_context.graph_schema.nodes[node_name].needs
            inputs = {
                name: _KnownFingerprint(self._fingerprints[needs[name]])
                if needs.get(name) in self._fingerprints
                else value
                for name, value in received_inputs.items()
            }
            return super().on_before_node(node_name, execution_context, config, inputs)

        def on_after_node(
            self,
            node_name: str,
            execution_context: ExecutionContext,
            config: dict[str, Any],
            output: Any,
            input_hook_data: dict,
        ) -> None:
            """Cache the output under its key, with the key (or, for input nodes, the content) as its fingerprint."""
            node = self._pruned_schema.nodes[node_name]
            if node.uses == PrecomputedValueProvider:
                return
            key = input_hook_data["fingerprint_key"]
            fingerprint = rasa.shared.utils.io.deep_container_fingerprint(output) if node.is_input else key
            self._fingerprints[node_name] = fingerprint
            self._cache.cache_output(
                fingerprint_key=key, output=output, output_fingerprint=fingerprint, model_storage=self._model_storage
            )

    # GraphTrainer.train builds its hooks from the name imported into its module.
    graph_trainer.TrainingHook = KeyFingerprintHook  # type: ignore[misc]


def main() -> int:
    """Run Rasa's command line (`train …`) with the key fingerprints installed."""
    install_key_fingerprints()
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *sys.argv[1:]]
    rasa_main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
