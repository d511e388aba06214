"""The batched n-gram featurizer gives exactly Rasa's CountVectorsFeaturizer rows (run in the engine environment)."""

from __future__ import annotations

import textwrap

import pytest

from tests.nlu.engine_probe import run_probe

# Runs in the engine's Python 3.10. Featurizes the same tokenized messages (training data with intents and FAQ
# responses, then unseen messages, one of them empty) with Rasa's featurizer and ours, for both analyzers and both
# settings of sequence_features, and reports what differs.
PROBE = textwrap.dedent(
    """
    import json, tempfile
    from pathlib import Path
    import numpy as np
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
    from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData
    from nlu.components.ngrams import BatchedCountVectorsFeaturizer
    from nlu.components.sentence_encoder import MultilingualSentenceEncoder
    from nlu.components.e5_encoder import E5SentenceEncoder

    context = ExecutionContext(GraphSchema({}), "probe")
    rows = [
        ("我的快递 XJ202611180042 到哪了", "track_shipment", None),
        ("where is my parcel xj 2026 1118 0042", "track_shipment", None),
        ("寄一公斤到北京多少钱", "faq", "faq/shipping_fee"),
        ("how much to send a box", "faq", "faq/shipping_fee"),
        ("快递员态度太差了 我要投诉", "complain_conduct", None),
        ("hi", "greet", None),
    ]
    responses = {"utter_faq/shipping_fee": [{"text": "首重 12 元 / first kg 12 yuan"}]}
    unseen = ["wher is my parcle", "运费怎么算啊", "", "投诉 投诉 投诉"]

    def data():
        examples = []
        for text, intent, key in rows:
            fields = {"text": text, "intent": intent}
            if key:
                fields["intent_response_key"] = key
                fields["response"] = responses["utter_" + key][0]["text"]
            examples.append(Message(data=fields))
        return TrainingData(training_examples=examples, responses=responses)

    def describe(messages):
        out = []
        for m in messages:
            feats = {}
            for f in m.features:
                if f.is_sparse():
                    coo = f.features.tocoo()
                    feats[f"{f.attribute}/{f.type}/{f.origin}"] = [
                        list(coo.shape), coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), str(coo.dtype)
                    ]
                else:
                    feats[f"{f.attribute}/{f.type}/{f.origin}"] = list(f.features.shape)
            out.append(feats)
        return out

    def featurize(cls, config):
        storage = LocalModelStorage(Path(tempfile.mkdtemp()))
        tokenizer = JiebaTokenizer.create(JiebaTokenizer.get_default_config(), storage, Resource("tok"), context)
        training = data()
        tokenizer.process_training_data(training)
        # The same node name for both classes, so the features carry the same origin.
        node = ExecutionContext(GraphSchema({}), "probe", node_name="ngrams")
        featurizer = cls.create({**cls.get_default_config(), **config}, storage, Resource("cv"), node)
        featurizer.train(training)
        featurizer.process_training_data(training)
        messages = [Message(data={"text": t}) for t in unseen]
        tokenizer.process(messages)
        loaded = cls.load({**cls.get_default_config(), **config}, storage, Resource("cv"), node)
        loaded.process(messages)
        return describe(training.training_examples) + describe(messages)

    report = {}
    for analyzer in ({"analyzer": "word"}, {"analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4}):
        rasa = featurize(CountVectorsFeaturizer, analyzer)
        full = featurize(BatchedCountVectorsFeaturizer, {**analyzer, "sequence_features": True})
        lean = featurize(BatchedCountVectorsFeaturizer, analyzer)
        report[analyzer["analyzer"]] = {"rasa": rasa, "full": full, "lean": lean}

    def dense_keys(cls, config):
        messages = [Message(data={"text": t}) for t in ("where is my parcel", "我的快递到哪了")]
        JiebaTokenizer.create(
            JiebaTokenizer.get_default_config(), LocalModelStorage(Path(tempfile.mkdtemp())), Resource("t"), context
        ).process(messages)
        encoder = cls.create({**cls.get_default_config(), **config}, None, Resource("enc"), context)
        encoder.process(messages)
        return [sorted(f"{f.attribute}/{f.type}" for f in m.features) for m in messages]

    report["dense"] = {
        "use_default": dense_keys(MultilingualSentenceEncoder, {}),
        "use_lean": dense_keys(MultilingualSentenceEncoder, {"encode_tokens": False, "sequence_features": False}),
        "e5_default": dense_keys(E5SentenceEncoder, {}),
        "e5_lean": dense_keys(E5SentenceEncoder, {"sequence_features": False}),
    }
    print(json.dumps(report))
    """
)


@pytest.fixture(scope="module")
def probe() -> dict[str, object]:
    """The probe's findings, from the real engine environment."""
    return run_probe(PROBE)


@pytest.mark.parametrize("analyzer", ["word", "char_wb"])
def test_batched_featurizer_gives_rasas_matrices(probe: dict[str, object], analyzer: str) -> None:
    """With sequence features on, every message's features equal Rasa's, matrix for matrix (training and unseen)."""
    found = probe[analyzer]  # type: ignore[index]
    assert found["full"] == found["rasa"]
    # The probe covers what matters: text sentence rows on every non-empty message, responses, one-token intents.
    kinds = {key.rsplit("/", 1)[0] for message in found["rasa"] for key in message}
    assert {"text/sentence", "text/sequence"} <= kinds
    if analyzer == "word":
        assert {"intent/sequence", "response/sentence"} <= kinds
    assert found["rasa"][-2] == {}  # the empty message gets nothing from either


@pytest.mark.parametrize("analyzer", ["word", "char_wb"])
def test_lean_featurizer_drops_only_text_sequences(probe: dict[str, object], analyzer: str) -> None:
    """sequence_features false: the same sentence rows and one-token sequences, no per-token text matrices."""
    found = probe[analyzer]  # type: ignore[index]
    for rasa, lean in zip(found["rasa"], found["lean"], strict=True):
        kept = {k: v for k, v in rasa.items() if not k.startswith(("text/sequence", "response/sequence"))}
        assert lean == kept


def test_encoders_can_leave_out_sequence_features(probe: dict[str, object]) -> None:
    """USE and e5 add sequence features by default (DIET reads them) and none with sequence_features false."""
    dense = probe["dense"]  # type: ignore[index]
    assert dense["use_default"] == dense["e5_default"] == [["text/sentence", "text/sequence"]] * 2
    assert dense["use_lean"] == dense["e5_lean"] == [["text/sentence"]] * 2
