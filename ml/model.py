"""The model triager: one embedding pass per batch, then the trained heads, signals and macros."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from ml.encoder import Encoder
from ml.heads import HEADS_DIR, Heads
from ml.result import TriageRequest, TriageResult, urgency_label
from ml.signals import identify_language, lexicon_sentiment, signal_flags, text_signals

MACROS_FILE = Path(__file__).with_name("macros.yaml")
VIP_BOOST = 0.15  # no public text carries requester tier, so VIP is a rule on top of the learned S
NEGATIVE_SENTIMENT = -0.3  # below this, "negative_sentiment" is reported as a signal
SAME_CATEGORY_BONUS = 0.1  # a macro of the predicted category wins close calls
SIGNAL_NAMES = {"calm": "not_urgent_hint"}  # how feature names read as reported signals


def _lexicon(texts: Sequence[str]) -> np.ndarray:
    return np.array([lexicon_sentiment(t) for t in texts], dtype=np.float32).reshape(len(texts), 1)


def urgency_features(
    vectors: np.ndarray,
    texts: Sequence[str],
    lexicon: np.ndarray | None = None,
    found: Sequence[Sequence[str]] | None = None,
) -> np.ndarray:
    """[embedding | regex signal flags | lexicon sentiment]: what the urgency head reads.

    `found` is `text_signals` of each text when the caller has it already (the regexes are not free).
    """
    found = [text_signals(t) for t in texts] if found is None else found
    flags = np.array([signal_flags(f) for f in found], dtype=np.float32).reshape(len(texts), -1)
    return np.hstack([vectors, flags, _lexicon(texts) if lexicon is None else lexicon])


def sentiment_features(
    vectors: np.ndarray, texts: Sequence[str], lexicon: np.ndarray | None = None
) -> np.ndarray:
    """[embedding | lexicon sentiment]: what the sentiment head reads."""
    return np.hstack([vectors, _lexicon(texts) if lexicon is None else lexicon])


@dataclass(frozen=True, slots=True)
class Macro:
    """One canned reply and the description it is matched on."""

    id: str
    category: str
    when: str
    reply: str


def load_macros(path: Path = MACROS_FILE) -> list[Macro]:
    """Read the macro library."""
    return [Macro(**entry) for entry in yaml.safe_load(path.read_text())]


class ModelTriager:
    """A `Triager` over an encoder and the trained heads; sync and CPU-bound (run it in a thread)."""

    def __init__(self, encoder: Encoder, heads: Heads, macros: list[Macro]) -> None:
        self.encoder = encoder
        self.heads = heads
        self.macros = macros
        self.macro_vectors = encoder.encode([m.when for m in macros])
        self.macro_categories = np.array([m.category for m in macros])
        self.name = f"{encoder.name}+heads-{heads.meta.get('version', 'dev')}"
        trained_on = heads.meta.get("encoder")
        if trained_on and trained_on != encoder.name:
            # fp32 and the served int8 vectors agree to cosine ~0.994, so this works, but say it in the name.
            self.name += f"(trained-on-{trained_on})"

    def triage_batch(self, requests: Sequence[TriageRequest]) -> list[TriageResult]:
        texts = [r.text for r in requests]
        vectors = self.encoder.encode(texts)
        proba = self.heads.category_proba(vectors)
        lexicon = _lexicon(texts)
        found = [text_signals(t) for t in texts]
        urgency = self.heads.urgency(urgency_features(vectors, texts, lexicon, found))
        sentiment = self.heads.sentiment(sentiment_features(vectors, texts, lexicon))
        macro_sim = vectors @ self.macro_vectors.T
        results = []
        for i, request in enumerate(requests):
            best = int(proba[i].argmax())
            category = self.heads.categories[best]
            confidence = float(proba[i, best])
            signals = [SIGNAL_NAMES.get(s, s) for s in found[i]]
            if sentiment[i] < NEGATIVE_SENTIMENT:
                signals.append("negative_sentiment")
            score = float(urgency[i])
            if request.vip:
                signals.append("vip_requester")
                score = min(1.0, score + VIP_BOOST)
            bonus = SAME_CATEGORY_BONUS * (self.macro_categories == category)
            macro = self.macros[int((macro_sim[i] + bonus).argmax())]
            results.append(
                TriageResult(
                    category=category,
                    confidence=round(confidence, 3),
                    needs_review=confidence < self.heads.review_threshold,
                    urgency=round(score, 3),
                    urgency_label=urgency_label(score),
                    sentiment=round(float(sentiment[i]), 3),
                    language=request.language or identify_language(request.text),
                    signals=tuple(signals),
                    suggested_reply=macro.reply,
                    model=self.name,
                )
            )
        return results


def load_triager(
    backend: str = "onnx", threads: int | None = None, heads_dir: str | Path | None = None, *,
    cache_dir: str | Path | None = None,
) -> ModelTriager:
    """Load encoder, heads and macros; raises if any is missing (the service then falls back).

    `heads_dir`: the heads to serve (None or "": the committed ones in ml/heads). `cache_dir`: where
    the quantized encoder is kept between starts (`ml.encoder.model_cache_dir`).
    """
    from ml.encoder import load_encoder

    heads = Heads.load(Path(heads_dir) if heads_dir else HEADS_DIR)
    return ModelTriager(load_encoder(backend, threads, cache_dir), heads, load_macros())
