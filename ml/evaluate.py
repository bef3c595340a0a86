"""`python -m ml evaluate FILE...`: the heads beside a TF-IDF + logistic regression and the keyword baseline.

Prints, per triager: category macro-F1, accuracy and per-class recall (rows with a category),
urgency AUROC of S against "high or critical" plus band accuracy (rows with an urgency), and
sentiment correlation (rows with a sentiment). The TF-IDF baseline is fit here on exactly the
rows the heads were trained on, so the comparison is like for like.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ml.baseline import keyword_triage
from ml.datasets import HIGH_PRIORITY, URGENCY_LEVELS, Example, read_examples, training_pool
from ml.result import CATEGORIES, TriageRequest, urgency_label

if TYPE_CHECKING:
    from ml.model import ModelTriager


@dataclass
class Predictions:
    """What one triager said about each row, aligned with the rows."""

    name: str
    category: list[str]
    confidence: list[float]
    urgency: list[float]
    sentiment: list[float] | None


def _model_predictions(rows: Sequence[Example], triager: ModelTriager) -> tuple[Predictions, float]:
    started = time.perf_counter()
    results = []
    for start in range(0, len(rows), 32):
        results += triager.triage_batch([TriageRequest(r.text) for r in rows[start : start + 32]])
    rate = len(rows) / (time.perf_counter() - started)
    return Predictions(
        triager.name,
        [r.category for r in results],
        [r.confidence for r in results],
        [r.urgency for r in results],
        [r.sentiment for r in results],
    ), rate


def _keyword_predictions(rows: Sequence[Example]) -> Predictions:
    results = [keyword_triage(TriageRequest(r.text)) for r in rows]
    return Predictions(
        "keyword baseline",
        [r.category for r in results],
        [r.confidence for r in results],
        [r.urgency for r in results],
        [r.sentiment for r in results],
    )


def tfidf_predictions(rows: Sequence[Example], train: Sequence[Example] | None = None) -> Predictions:
    """TF-IDF (word 1-2 grams) + logistic regression, fit on the heads' training rows."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    train = train if train is not None else [r for r in training_pool() if r.split == "train"]
    labeled = [r for r in train if r.category]
    category = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True),
        LogisticRegression(C=4.0, max_iter=3000, class_weight="balanced"),
    )
    category.fit([r.text for r in labeled], [r.category for r in labeled])
    urgent = [r for r in train if r.urgency]
    urgency = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
        LogisticRegression(C=4.0, max_iter=3000, class_weight="balanced"),
    )
    urgency.fit([r.text for r in urgent], [r.urgency in HIGH_PRIORITY for r in urgent])
    texts = [r.text for r in rows]
    proba = category.predict_proba(texts)
    classes = list(category.classes_)
    return Predictions(
        "tf-idf + logreg",
        [classes[i] for i in proba.argmax(axis=1)],
        list(proba.max(axis=1)),
        list(urgency.predict_proba(texts)[:, 1]),
        None,
    )


def category_report(gold: Sequence[str], predicted: Sequence[str]) -> dict[str, float]:
    """macro-F1 over the classes present in `gold`, accuracy, and recall per class."""
    from sklearn.metrics import f1_score, recall_score

    labels = [c for c in CATEGORIES if c in set(gold)]
    recalls = recall_score(gold, predicted, labels=labels, average=None, zero_division=0)
    report = {
        "macro_f1": float(f1_score(gold, predicted, labels=labels, average="macro", zero_division=0)),
        "accuracy": float(np.mean([g == p for g, p in zip(gold, predicted, strict=True)])),
    }
    report.update({f"recall[{c}]": float(r) for c, r in zip(labels, recalls, strict=True)})
    return report


def urgency_report(gold: Sequence[str], scores: Sequence[float], banded: bool = True) -> dict[str, float]:
    """AUROC of S against high/critical; band accuracy when S is on the contract's scale."""
    from sklearn.metrics import roc_auc_score

    positive = [g in HIGH_PRIORITY for g in gold]
    report = {"n": float(len(gold)), "positives": float(sum(positive))}
    report["auroc"] = (
        float(roc_auc_score(positive, scores)) if 0 < sum(positive) < len(gold) else float("nan")
    )
    if banded:
        report["band_accuracy"] = float(
            np.mean([urgency_label(s) == g for s, g in zip(scores, gold, strict=True)])
        )
        flagged = [urgency_label(s) in HIGH_PRIORITY for s in scores]
        hits = sum(f and p for f, p in zip(flagged, positive, strict=True))
        report["high_recall"] = hits / max(sum(positive), 1)
        report["high_precision"] = hits / max(sum(flagged), 1)
    return report


def _print(title: str, report: dict[str, float]) -> None:
    print(
        f"  {title}: "
        + "  ".join(
            f"{k}={v:.3f}" if k not in ("n", "positives") else f"{k}={v:.0f}" for k, v in report.items()
        )
    )


def evaluate_rows(
    rows: Sequence[Example],
    triager: ModelTriager,
    baselines: bool = True,
    train: Sequence[Example] | None = None,
) -> None:
    """Print the reports for `rows` for the model and (optionally) both baselines.

    `train` is what the TF-IDF baseline is fit on: the heads' own training rows by default.
    """
    model, rate = _model_predictions(rows, triager)
    runs: list[Predictions] = [model]
    if baselines:
        runs += [tfidf_predictions(rows, train), _keyword_predictions(rows)]
    sources = sorted({r.source for r in rows})
    print(f"{len(rows)} rows from {', '.join(sources)}; model ran at {rate:.0f} rows/s (batches of 32)")
    with_cat = [i for i, r in enumerate(rows) if r.category]
    with_urg = [i for i, r in enumerate(rows) if r.urgency]
    with_sent = [i for i, r in enumerate(rows) if r.sentiment not in ("", None)]
    pick: Callable[[Sequence, list[int]], list] = lambda seq, idx: [seq[i] for i in idx]  # noqa: E731
    for run in runs:
        print(f"\n[{run.name}]")
        if with_cat:
            gold = pick([r.category for r in rows], with_cat)
            _print(f"category (n={len(with_cat)})", category_report(gold, pick(run.category, with_cat)))
            if len(sources) > 1:
                for source in sources:
                    idx = [i for i in with_cat if rows[i].source == source]
                    if idx:
                        report = category_report(
                            pick([r.category for r in rows], idx), pick(run.category, idx)
                        )
                        print(
                            f"    {source} (n={len(idx)}): macro_f1={report['macro_f1']:.3f} "
                            f"accuracy={report['accuracy']:.3f}"
                        )
            if run is model:
                sure = [i for i in with_cat if run.confidence[i] >= 0.5]
                right = sum(run.category[i] == rows[i].category for i in sure)
                print(
                    f"  confident (>=0.5, not needs_review): {len(sure) / len(with_cat):.1%} of rows, "
                    f"accuracy {right / max(len(sure), 1):.3f}"
                )
        if with_urg:
            gold_u = pick([r.urgency for r in rows], with_urg)
            banded = run.name != "tf-idf + logreg"
            _print("urgency", urgency_report(gold_u, pick(run.urgency, with_urg), banded))
            if len(sources) > 1:  # weak (intent-derived) labels flatter the pooled figure: show each source
                for source in sources:
                    idx = [i for i in with_urg if rows[i].source == source]
                    if idx:
                        _print(
                            f"  urgency {source}",
                            urgency_report(
                                pick([r.urgency for r in rows], idx), pick(run.urgency, idx), banded
                            ),
                        )
        if with_sent and run.sentiment is not None:
            gold_s = np.array([float(rows[i].sentiment) for i in with_sent])
            got = np.array(pick(run.sentiment, with_sent))
            corr = float(np.corrcoef(gold_s, got)[0, 1]) if got.std() > 0 else float("nan")
            sign = float(np.mean(np.sign(np.round(got * 2) / 2) == np.sign(gold_s)))
            print(f"  sentiment (n={len(with_sent)}): pearson={corr:.3f}  sign_accuracy={sign:.3f}")


def evaluate_file(
    files: Sequence[Path], backend: str = "onnx", split: str | None = None, baselines: bool = True,
    heads_dir: Path | None = None,
) -> None:
    """Read labeled CSV/JSONL files (optionally one split) and print the reports, for the heads in `heads_dir`."""
    rows = [r for path in files for r in read_examples(path) if split is None or r.split == split]
    if not rows:
        raise SystemExit("no rows to evaluate (check the file and --split)")
    if any(r.split == "train" for r in rows):
        print("WARNING: some rows are marked split=train: the heads were trained on them")
    assert set(URGENCY_LEVELS) >= {r.urgency for r in rows if r.urgency}
    from ml.model import load_triager

    evaluate_rows(rows, load_triager(backend, heads_dir=heads_dir), baselines)


def leave_one_out(source: str, backend: str = "onnx", baselines: bool = True) -> None:
    """Cross-source check: fit heads (and TF-IDF) without `source`, evaluate on its held-out rows.

    The committed heads are not touched; this refits in memory with exactly the training recipe.
    """
    from ml.encoder import load_encoder
    from ml.model import ModelTriager, load_macros
    from ml.train import fit

    pool = training_pool()
    train = [r for r in pool if r.split == "train" and r.source != source]
    test = [r for r in pool if r.split == "test" and r.source == source]
    if not test:
        raise SystemExit(f"no held-out rows from source {source!r}")
    encoder = load_encoder(backend)
    heads = fit(train, encoder.encode([r.text for r in train]), encoder.name)
    print(f"heads refit on {len(train)} rows without {source}; evaluating on its {len(test)} held-out rows")
    evaluate_rows(test, ModelTriager(encoder, heads, load_macros()), baselines, train)
