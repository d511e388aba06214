"""The sentence-encoder featurizer (nlu/components/sentence_encoder.py), run inside the real engine environment."""

from __future__ import annotations

import textwrap

from tests.nlu.engine_probe import run_probe

# Runs in the engine's Python 3.10: featurizes messages through the component's public Rasa API and prints
# what the test checks (shapes, and cosine similarities between sentence vectors).
PROBE = textwrap.dedent(
    """
    import json
    import numpy as np
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
    from rasa.shared.nlu.training_data.message import Message
    from nlu.components.sentence_encoder import MultilingualSentenceEncoder

    context = ExecutionContext(GraphSchema({}), "probe")
    tokenizer = JiebaTokenizer.create(JiebaTokenizer.get_default_config(), None, None, context)
    MultilingualSentenceEncoder.validate_config(MultilingualSentenceEncoder.get_default_config())
    encoder = MultilingualSentenceEncoder.create(
        MultilingualSentenceEncoder.get_default_config(), None, None, context
    )
    texts = [
        "where is my parcel",
        "我的快递到哪了",
        "I want a refund for the overcharge",
        "where is XJ202611180042",
        "where is SF1234567890123",
    ]
    messages = [Message(data={"text": t}) for t in texts]
    tokenizer.process(messages)
    encoder.process(messages)
    sequence, sentence = zip(*(m.get_dense_features("text") for m in messages))
    vectors = np.vstack([s.features for s in sentence])
    print(json.dumps({
        "tokens": [len(m.get("text_tokens")) for m in messages],
        "sequence_shapes": [list(s.features.shape) for s in sequence],
        "sentence_shapes": [list(s.features.shape) for s in sentence],
        "similarity": (vectors @ vectors.T).round(4).tolist(),
    }))
    """
)


def test_encoder_features_and_cross_lingual_similarity() -> None:
    """One 512-d vector per token and per sentence; a Chinese paraphrase is nearer than an unrelated English text."""
    probe = run_probe(PROBE, timeout=300)
    assert probe["tokens"][1] >= 2  # Jieba split the Chinese sentence into words
    assert probe["sequence_shapes"] == [[n, 512] for n in probe["tokens"]]
    assert probe["sentence_shapes"] == [[1, 512]] * 5
    similarity = probe["similarity"]
    assert similarity[0][1] > similarity[0][2] + 0.1  # "where is my parcel" ~ "我的快递到哪了", not the refund
    # Numbers are normalised before encoding, so two tracking numbers of different carriers read alike.
    assert similarity[3][4] > 0.95
