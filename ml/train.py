"""`python -m ml train`: fit the category, urgency and sentiment heads on the committed data.

Deterministic: fixed data files, fixed sampling seeds, and lbfgs/closed-form solvers, so the same
encoder gives the same heads. Trains on rows whose split is "train"; "test" rows are the
held-out set `python -m ml evaluate` reads, and ml/data/it_tickets.csv is never trained on.
`--add FILE` trains on a team's own labeled tickets as well (`added_rows`), into `--out DIR`, which
the service serves when TRIAGE_HEADS_DIR names it.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from ml.datasets import DATA, URGENCY_LEVELS, Example, read_examples, training_pool
from ml.encoder import Encoder, load_encoder
from ml.heads import HEADS_DIR, Heads
from ml.model import sentiment_features, urgency_features
from ml.result import CATEGORIES

REVIEW_THRESHOLD = 0.5  # below this top-class probability the ticket is flagged for a human
# Hand-labeled tickets look like what we serve; the public sets are short intent queries.
SOURCE_WEIGHT = {"labeled_tickets": 3.0, "prototypes": 3.0}
# Weak urgency labels (from intent meaning) count for less than hand labels.
WEAK_URGENCY_WEIGHT = 0.3
# Newton-Cholesky to a tight tolerance: the convex optimum itself, so a refit on another CPU gives
# the same weights to ~1e-6 (lbfgs stopped early at points 0.03 apart from one machine to the next).
CATEGORY_SOLVER = {"C": 4.0, "solver": "newton-cholesky", "max_iter": 200, "tol": 1e-8}
RECIPE = f"category={sorted(CATEGORY_SOLVER.items())};urgency=C0.5,balanced;sentiment=ridge3;weights={SOURCE_WEIGHT},{WEAK_URGENCY_WEIGHT}"


# Sources `python -m ml train --add FILE` brings are named ADDED + the file's name: a team's own
# labeled tickets, weighed as our hand-labeled ones (they look like what is served, labels are real).
ADDED = "added:"


def _kind(source: str) -> str:
    """The source a row counts as: an added file counts as our hand-labeled tickets."""
    return "labeled_tickets" if source.startswith(ADDED) else source


def _weights(rows: Sequence[Example]) -> np.ndarray:
    return np.array([SOURCE_WEIGHT.get(_kind(r.source), 1.0) for r in rows])


def fit(rows: Sequence[Example], vectors: np.ndarray, encoder_name: str) -> Heads:
    """Fit all heads on `rows` (already filtered to training rows) and their embedding `vectors`."""
    from sklearn.linear_model import LogisticRegression, Ridge

    texts = [r.text for r in rows]
    cat_idx = [i for i, r in enumerate(rows) if r.category]
    y_cat = np.array([CATEGORIES.index(rows[i].category) for i in cat_idx])
    w_cat = _weights([rows[i] for i in cat_idx])
    # Classes are unbalanced across sources (Legal and Feature request exist only in hand labels).
    counts = np.bincount(y_cat, weights=w_cat, minlength=len(CATEGORIES))
    w_cat = w_cat * (counts.sum() / (len(CATEGORIES) * counts.clip(1e-9)))[y_cat]
    category = LogisticRegression(**CATEGORY_SOLVER).fit(vectors[cat_idx], y_cat, sample_weight=w_cat)
    # Keep a row for every category even if a tiny subset misses one (it then never wins).
    cat_w = np.zeros((len(CATEGORIES), vectors.shape[1]))
    cat_b = np.full(len(CATEGORIES), -30.0)
    if len(category.classes_) < 3:
        raise ValueError("the category head needs examples of at least three categories")
    cat_w[category.classes_] = category.coef_
    cat_b[category.classes_] = category.intercept_

    urg_idx = [i for i, r in enumerate(rows) if r.urgency]
    level = np.array([URGENCY_LEVELS.index(rows[i].urgency) for i in urg_idx])
    w_urg = np.array([1.0 if _kind(rows[i].source) == "labeled_tickets" else WEAK_URGENCY_WEIGHT for i in urg_idx])
    feats = urgency_features(vectors[urg_idx], [texts[i] for i in urg_idx])
    urg_w, urg_b = [], []
    for threshold in (1, 2, 3):  # >= medium, >= high, critical: a cumulative (ordinal) model
        y = (level >= threshold).astype(int)
        head = LogisticRegression(C=0.5, max_iter=3000, class_weight="balanced")
        head.fit(feats, y, sample_weight=w_urg)
        urg_w.append(head.coef_[0])
        urg_b.append(head.intercept_[0])

    sent_idx = [i for i, r in enumerate(rows) if r.sentiment not in ("", None)]
    sent = Ridge(alpha=3.0).fit(
        sentiment_features(vectors[sent_idx], [texts[i] for i in sent_idx]),
        np.array([float(rows[i].sentiment) for i in sent_idx]),
    )

    heads = Heads(
        categories=CATEGORIES,
        category_w=cat_w,
        category_b=cat_b,
        urgency_w=np.array(urg_w),
        urgency_b=np.array(urg_b),
        sentiment_w=sent.coef_,
        sentiment_b=float(sent.intercept_),
        review_threshold=REVIEW_THRESHOLD,
    )
    heads.meta = {
        "version": _version(rows, encoder_name),
        "encoder": encoder_name,
        "rows": {"category": len(cat_idx), "urgency": len(urg_idx), "sentiment": len(sent_idx)},
        "sources": sorted({r.source for r in rows}),
    }
    return heads


def _version(rows: Sequence[Example], encoder_name: str) -> str:
    """The heads' name: a digest of what they were fit on and how, never of float weights.

    Weights agree across CPUs only to ~1e-6 (BLAS summation order), so a digest of rounded weights
    named the same fit differently on another machine.
    """
    digest = hashlib.sha256(f"{encoder_name}|{RECIPE}".encode())
    for r in rows:
        digest.update(f"{r.source}\x1f{r.text}\x1f{r.category}\x1f{r.urgency}\x1f{r.sentiment}\x1e".encode())
    return digest.hexdigest()[:10]


def _data_digest(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:16] for p in sorted(directory.glob("*.csv"))}


def added_rows(path: Path) -> tuple[list[Example], int]:
    """A team's labeled file (any format `read_examples` takes) as training rows, and how many it holds out.

    Rows marked split=test stay out, so `python -m ml evaluate FILE --split test` measures the new
    heads on tickets they never saw.
    """
    rows = [replace(r, source=f"{ADDED}{path.name}") for r in read_examples(path)]
    train_rows = [r for r in rows if r.split != "test"]
    return train_rows, len(rows) - len(train_rows)


def train(
    encoder: Encoder | None = None, out: Path = HEADS_DIR, added: Sequence[Path] = (), backend: str = "onnx"
) -> Heads:
    """Embed the training rows (the committed ones, plus the files in `added`), fit the heads, write them to `out`.

    `encoder`: the one to embed with; None loads `backend`'s, once the files have been read.
    """
    rows = [r for r in training_pool() if r.split == "train"]
    data = _data_digest(DATA)
    for path in added:  # read them all before the encoder loads: a bad file fails at once
        own, held_out = added_rows(path)
        rows += own
        data[f"{ADDED}{path.name}"] = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        print(f"{path}: {len(own)} rows added to training, {held_out} held out (split=test)")
    encoder = encoder or load_encoder(backend)
    started = time.perf_counter()
    vectors = encoder.encode([r.text for r in rows])
    print(f"embedded {len(rows)} training rows in {time.perf_counter() - started:.1f}s with {encoder.name}")
    heads = fit(rows, vectors, encoder.name)
    heads.meta["data"] = data
    heads.save(out)
    print(f"heads {heads.meta['version']} written to {out}: {heads.meta['rows']}")
    return heads
