"""The trained heads as plain numpy arrays: saved by `python -m ml train`, applied at serve time.

Serving needs no scikit-learn: each head is a linear map (plus softmax/sigmoid), stored in
ml/heads/heads.npz with its metadata in ml/heads/heads.json (what encoder made the vectors,
feature names, thresholds, what data trained it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

HEADS_DIR = Path(__file__).with_name("heads")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class Heads:
    """Linear heads over [embedding | signal flags | lexicon sentiment] features."""

    categories: tuple[str, ...]
    category_w: np.ndarray  # (n_categories, dim)
    category_b: np.ndarray  # (n_categories,)
    urgency_w: np.ndarray  # (3, dim + n_signals + 1): P(>= medium), P(>= high), P(critical)
    urgency_b: np.ndarray  # (3,)
    sentiment_w: np.ndarray  # (dim + 1,)
    sentiment_b: float
    review_threshold: float
    meta: dict[str, Any] = field(default_factory=dict)

    def category_proba(self, vectors: np.ndarray) -> np.ndarray:
        """Softmax over categories, one row per vector."""
        logits = vectors @ self.category_w.T + self.category_b
        logits -= logits.max(axis=1, keepdims=True)
        expd = np.exp(logits)
        return expd / expd.sum(axis=1, keepdims=True)

    def urgency(self, features: np.ndarray) -> np.ndarray:
        """S in [0, 1]: the mean of the three cumulative probabilities (an ordinal score)."""
        return _sigmoid(features @ self.urgency_w.T + self.urgency_b).mean(axis=1)

    def sentiment(self, features: np.ndarray) -> np.ndarray:
        """Sentiment in [-1, 1] from [embedding | lexicon compound]."""
        return np.clip(features @ self.sentiment_w + self.sentiment_b, -1.0, 1.0)

    def save(self, directory: Path = HEADS_DIR) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            directory / "heads.npz",
            category_w=self.category_w.astype(np.float32),
            category_b=self.category_b.astype(np.float32),
            urgency_w=self.urgency_w.astype(np.float32),
            urgency_b=self.urgency_b.astype(np.float32),
            sentiment_w=self.sentiment_w.astype(np.float32),
        )
        meta = {
            **self.meta,
            "categories": list(self.categories),
            "sentiment_b": float(self.sentiment_b),
            "review_threshold": self.review_threshold,
        }
        (directory / "heads.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, directory: Path = HEADS_DIR) -> Heads:
        if not (directory / "heads.json").is_file() or not (directory / "heads.npz").is_file():
            raise FileNotFoundError(
                f"no triage heads in {directory} (heads.json and heads.npz); `python -m ml train --out {directory}` writes them"
            )
        meta = json.loads((directory / "heads.json").read_text())
        # allow_pickle stays False: the file holds plain arrays only.
        with np.load(directory / "heads.npz", allow_pickle=False) as arrays:
            return cls(
                categories=tuple(meta["categories"]),
                category_w=arrays["category_w"],
                category_b=arrays["category_b"],
                urgency_w=arrays["urgency_w"],
                urgency_b=arrays["urgency_b"],
                sentiment_w=arrays["sentiment_w"],
                sentiment_b=float(meta["sentiment_b"]),
                review_threshold=float(meta["review_threshold"]),
                meta=meta,
            )
