"""Our Rasa components, run inside the real engine environment: e5 encoder, typo augmentation, FAQ selector."""

from __future__ import annotations

import textwrap

import pytest

from nlu.components.noise import noisy_variant
from nlu.components.paraphrase import paraphrase
from tests.nlu.engine_probe import run_probe

# Runs in the engine's Python 3.10 and prints what the tests check. It builds a small FAQ training set, augments
# it, featurizes it (Jieba, char n-grams, e5), trains the linear FAQ selector twice in two model storages and
# reports both runs' predictions on unseen questions.
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
    from nlu.components.augmenter import TypoAugmenter
    from nlu.components.e5_encoder import E5SentenceEncoder
    from nlu.components.faq_selector import LinearResponseSelector

    context = ExecutionContext(GraphSchema({}), "probe")
    questions = {
        "faq/shipping_fee": ["寄一公斤多少钱", "运费怎么算", "how much to send a box", "what does shipping cost"],
        "faq/delivery_time": ["寄到北京要几天", "多久能到上海", "how long to beijing", "how many days to deliver"],
        "faq/insurance": ["贵重物品怎么保价", "保价费多少", "can I insure my parcel", "how does insurance work"],
    }
    examples = [
        Message(data={"text": t, "intent": "faq", "intent_response_key": k}) for k, ts in questions.items() for t in ts
    ]
    responses = {f"utter_{k}": [{"text": k}] for k in questions}

    def featurized(storage):
        data = TrainingData(training_examples=[Message(data=dict(m.data)) for m in examples], responses=responses)
        augmenter = TypoAugmenter.create({"copies": 1, "paraphrases": 1, "seed": 14}, storage, Resource("aug"), context)
        data = augmenter.process_training_data(data)
        passed = augmenter.process([Message(data={"text": t}) for t in ("你好 我的快递呢", "hi where is it")])
        augmented.append({
            "texts": [m.get("text") for m in data.training_examples],
            "intents": [m.get("intent_response_key") for m in data.training_examples],
            "inference": [m.data for m in passed],
        })
        tokenizer = JiebaTokenizer.create(JiebaTokenizer.get_default_config(), storage, Resource("tok"), context)
        tokenizer.process_training_data(data)
        config = {**CountVectorsFeaturizer.get_default_config(), "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4}
        counts = CountVectorsFeaturizer.create(config, storage, Resource("cv"), context)
        counts.train(data)
        counts.process_training_data(data)
        encoder = E5SentenceEncoder.create(E5SentenceEncoder.get_default_config(), storage, Resource("e5"), context)
        encoder.process_training_data(data)
        return data, (tokenizer, counts, encoder)

    augmented = []
    unseen = ["寄到广州多少钱啊", "how long does it take to reach shanghai", "丢了能赔吗 保价的话"]
    runs = []
    for _ in range(2):
        storage = LocalModelStorage(Path(tempfile.mkdtemp()))
        data, featurizers = featurized(storage)
        config = LinearResponseSelector.get_default_config()
        selector = LinearResponseSelector.create(config, storage, Resource("faq"), context)
        selector.train(data)
        loaded = LinearResponseSelector.load(config, storage, Resource("faq"), context)
        messages = [Message(data={"text": t}) for t in unseen]
        for component in featurizers:
            component.process(messages)
        loaded.process(messages)
        selected = [m.get("response_selector") for m in messages]
        runs.append({
            "keys": [s["faq"]["response"]["intent_response_key"] for s in selected],
            "actions": [s["faq"]["response"]["utter_action"] for s in selected],
            "confidences": [s["faq"]["response"]["confidence"] for s in selected],
            "retrieval_intents": selected[0]["all_retrieval_intents"],
        })
    from nlu.components.intent_classifier import class_weights
    labels = ["greet"] * 2 + ["faq"] * 4 + ["out_of_scope"] * 8
    print(json.dumps({
        "class_weights": [class_weights(labels, "balanced", 1.5), class_weights(labels, "balanced", 1.0)],
        "training_examples": len(examples),
        "augmented_examples": len(data.training_examples),
        "augmented": augmented,
        "e5_shape": list(data.training_examples[0].get_dense_features("text")[1].features.shape),
        "runs": runs,
    }))
    """
)


@pytest.fixture(scope="module")
def probe() -> dict[str, object]:
    """The probe's findings, from the real engine environment."""
    return run_probe(PROBE)


def test_augmenter_adds_seeded_copies_and_e5_gives_384_dims(probe: dict[str, object]) -> None:
    """One noisy and one paraphrased copy per example (none equal to an existing text); e5 gives 384 dims."""
    assert 2 * probe["training_examples"] < probe["augmented_examples"] <= 3 * probe["training_examples"]  # type: ignore[operator]
    assert probe["e5_shape"] == [1, 384]


def test_augmenter_copies_are_the_seeded_variants_and_inference_is_untouched(probe: dict[str, object]) -> None:
    """The copies are exactly noisy_variant(text, seed) and paraphrase(text, intent, seed) of each original, the
    same in both trainings; at inference messages pass unchanged."""
    first, second = probe["augmented"]  # type: ignore[misc]
    assert first == second
    originals = list(zip(first["texts"], first["intents"], strict=True))[: probe["training_examples"]]  # type: ignore[misc]
    expected = [text for text, _ in originals]
    for text, _ in originals:
        for variant in (noisy_variant(text, 14), paraphrase(text, "faq", 14)):
            if variant not in expected:
                expected.append(variant)
    assert first["texts"] == expected
    assert set(first["intents"]) == {key for _, key in originals}
    assert first["inference"] == [{"text": "你好 我的快递呢"}, {"text": "hi where is it"}]


def test_faq_selector_answers_in_rasa_format_and_retrains_identically(probe: dict[str, object]) -> None:
    """The selector picks the right sub-intent in Rasa's response_selector format, identically on a retraining."""
    first, second = probe["runs"]  # type: ignore[misc]
    assert first["keys"] == ["faq/shipping_fee", "faq/delivery_time", "faq/insurance"]
    assert first["actions"] == ["utter_faq/shipping_fee", "utter_faq/delivery_time", "utter_faq/insurance"]
    assert first["retrieval_intents"] == ["faq"]
    assert first == second


def test_out_of_scope_weight_scales_only_the_off_topic_class(probe: dict[str, object]) -> None:
    """Balanced weights (n / (classes × count)) with out_of_scope's multiplied; 1.0 leaves sklearn's own."""
    weighted, plain = probe["class_weights"]  # type: ignore[misc]
    assert weighted == {"faq": 14 / 12, "greet": 14 / 6, "out_of_scope": 14 / 24 * 1.5}
    assert plain == "balanced"


SOLVER_CHECK = r"""
import json
import numpy as np
from scipy.sparse import csr_matrix, hstack, random as sparse_random
from sklearn.linear_model import LogisticRegression
from nlu.components.intent_classifier import class_weights
from nlu.components.linear import fit_logistic

rng = np.random.default_rng(0)
n = 600
sparse = sparse_random(n, 300, density=0.05, random_state=1, format="csr")
dense = rng.normal(size=(n, 20))
labels = [("a", "b", "out_of_scope")[i] for i in rng.integers(0, 3, n)]
y = np.array(labels)
dense[y == "a", 0] += 1.5
dense[y == "b", 1] += 1.5
both = hstack([sparse, csr_matrix(dense)]).tocsr()
report = {}
for name, weight in (("balanced", "balanced"), ("weighted", class_weights(labels, "balanced", 1.5))):
    ours = fit_logistic(sparse, dense, labels, C=10.0, max_iter=3000, tol=1e-4, class_weight=weight)
    reference = LogisticRegression(C=10.0, max_iter=3000, class_weight=weight).fit(both, labels)
    mine, theirs = ours.predict_proba(both), reference.predict_proba(both)
    report[name] = {
        "classes": [list(map(str, ours.classes_)), list(map(str, reference.classes_))],
        "max_difference": float(abs(mine - theirs).max()),
        "same_answers": bool((mine.argmax(1) == theirs.argmax(1)).all()),
    }
print(json.dumps(report))
"""


def test_dense_block_solver_fits_what_sklearn_fits() -> None:
    """fit_logistic ([sparse | dense] kept apart) gives sklearn's model: same classes, answers and probabilities."""
    report = run_probe(SOLVER_CHECK)
    for name, found in report.items():
        assert found["classes"][0] == found["classes"][1] == ["a", "b", "out_of_scope"], name
        assert found["same_answers"], name
        assert found["max_difference"] < 1e-3, (name, found["max_difference"])


THREADS_CHECK = r"""
import json
import numpy as np
from concurrent.futures import ThreadPoolExecutor
from scipy.sparse import random as sparse_random
from nlu.components.linear import RowBlocks, fit_logistic

rng = np.random.default_rng(3)
n = 500
sparse = sparse_random(n, 400, density=0.04, random_state=2, format="csr")
dense = rng.normal(size=(n, 12))
labels = [("a", "b", "c", "out_of_scope")[i] for i in rng.integers(0, 4, n)]
other = rng.normal(size=(4, 400)).T  # a transposed (F-ordered) view, as the solver passes it
with ThreadPoolExecutor(3) as pool:
    rows = RowBlocks(sparse, pool, 3)
    rows_equal = bool(np.array_equal(rows @ other, sparse @ other))
    sizes = [block.shape[0] for block in rows.blocks]
fits = [fit_logistic(sparse, dense, labels, C=10.0, max_iter=3000, tol=1e-4, threads=t) for t in (1, 2, 3)]
print(json.dumps({
    "rows_equal": rows_equal,
    "sizes": sizes,
    "coef_equal": [bool(np.array_equal(fits[0].coef_, f.coef_)) for f in fits[1:]],
    "intercept_equal": [bool(np.array_equal(fits[0].intercept_, f.intercept_)) for f in fits[1:]],
    "iterations": [int(f.n_iter_[0]) for f in fits],
}))
"""


def test_parallel_sparse_products_give_the_same_fit_bit_for_bit() -> None:
    """The solver's sparse products split over threads: the same product and the same fitted weights, exactly."""
    report = run_probe(THREADS_CHECK)
    assert report["rows_equal"], report
    assert len(report["sizes"]) == 3 and sum(report["sizes"]) == 500, report["sizes"]
    assert report["coef_equal"] == [True, True] and report["intercept_equal"] == [True, True], report
    assert report["iterations"][0] > 1 and len(set(report["iterations"])) == 1, report["iterations"]


SHARED_VECTORS_CHECK = r"""
import json
import numpy as np
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.resource import Resource
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from nlu.components.augmenter import PARAPHRASE_SOURCE, TYPO_SOURCE, TypoAugmenter
from nlu.components.e5_encoder import E5SentenceEncoder

context = ExecutionContext(GraphSchema({}), "probe")
texts = {"track_shipment": ["where is my parcel", "我的快递到哪了"], "complain_delay": ["my package is late again"]}

def vectors(config):
    data = TrainingData(training_examples=[
        Message(data={"text": t, "intent": i}) for i, ts in texts.items() for t in ts
    ])
    data = TypoAugmenter({"copies": 1, "paraphrases": 1, "seed": 14}).process_training_data(data)
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process_training_data(data)
    settings = {**E5SentenceEncoder.get_default_config(), **config}
    encoder = E5SentenceEncoder.create(settings, None, Resource("e5"), context)
    encoder.process_training_data(data)
    return {
        m.get("text"): (m.get(TYPO_SOURCE), m.get(PARAPHRASE_SOURCE), m.get_dense_features("text")[1].features[0])
        for m in data.training_examples
    }

report = {}
for name, config in {
    "own": {},
    "typos_shared": {"encode_typo_copies": False},
    "all_shared": {"encode_typo_copies": False, "encode_paraphrases": False},
}.items():
    found = vectors(config)
    rows = []
    for text, (typo_of, paraphrase_of, vector) in found.items():
        source = typo_of or paraphrase_of
        if source:
            rows.append({"kind": "typo" if typo_of else "paraphrase",
                         "same_as_source": bool(np.array_equal(vector, found[source][2]))})
    report[name] = rows
print(json.dumps(report))
"""


def test_e5_can_give_copies_their_originals_vector() -> None:
    """encode_typo_copies / encode_paraphrases false: a copy gets the e5 vector of the example it was made from."""
    report = run_probe(SHARED_VECTORS_CHECK)
    kinds = {row["kind"] for row in report["own"]}
    assert kinds == {"typo", "paraphrase"}, report
    assert not any(row["same_as_source"] for row in report["own"]), report["own"]
    for row in report["typos_shared"]:
        assert row["same_as_source"] == (row["kind"] == "typo"), report["typos_shared"]
    assert all(row["same_as_source"] for row in report["all_shared"]), report["all_shared"]
