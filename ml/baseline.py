"""Keyword and regex triage: the fallback that answers when the model cannot."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from ml.result import TriageRequest, TriageResult, urgency_label
from ml.signals import CALM, CALM_WEIGHT, SIGNALS, identify_language

FALLBACK = "fallback"
log = logging.getLogger(__name__)

_CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "Billing": (
        "invoice",
        "charge",
        "charged",
        "refund",
        "payment",
        "billing",
        "bill",
        "price",
        "subscription",
        "credit card",
        "overcharged",
        "fee",
        "receipt",
        "paid",
    ),
    "Technical": (
        "error",
        "bug",
        "crash",
        "down",
        "outage",
        "broken",
        "not working",
        "doesn't work",
        "does not work",
        "fails",
        "failed",
        "failing",
        "timeout",
        "slow",
        "500",
        "api",
        "login page",
    ),
    "Account": (
        "password",
        "account",
        "login",
        "log in",
        "sign in",
        "2fa",
        "locked out",
        "username",
        "email address",
        "delete my account",
        "access",
        "permission",
    ),
    "Shipping/Orders": (
        "order",
        "delivery",
        "shipping",
        "shipped",
        "package",
        "parcel",
        "tracking",
        "arrive",
        "arrived",
        "courier",
        "address",
        "return",
    ),
    "Legal": (
        "lawyer",
        "legal",
        "lawsuit",
        "sue",
        "gdpr",
        "court",
        "attorney",
        "contract",
        "breach",
        "compliance",
        "terms of service",
        "subpoena",
    ),
    "Feature request": (
        "feature",
        "would be nice",
        "please add",
        "could you add",
        "suggestion",
        "wish",
        "request a",
        "roadmap",
        "support for",
        "it would be great",
    ),
}

_NEGATIVE = re.compile(
    r"\b(angry|furious|terrible|awful|horrible|unacceptable|worst|disappointed|frustrated|"
    r"ridiculous|useless|hate|scam|never again|cancel)\b",
    re.I,
)
_POSITIVE = re.compile(r"\b(thanks|thank you|great|love|awesome|appreciate|happy|excellent|nice)\b", re.I)

_STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset("the and is are was my i you to of in it not for with have this that".split()),
    "de": frozenset("der die das und ist nicht ich mein meine sie mit ein eine zu auf für".split()),
    "fr": frozenset("le la les et est je mon ma pas vous une un des pour avec sur".split()),
    "es": frozenset("el la los las y es mi no que una un por para con está".split()),
    "it": frozenset("il lo la e è mio mia non che una un per con sono".split()),
    "pt": frozenset("o a os as e é meu minha não que uma um por para com está".split()),
    "nl": frozenset("de het en is niet ik mijn een van voor met op".split()),
}

_WORD = re.compile(r"[\wÀ-ÿ']+")


def detect_language(text: str) -> str:
    """ISO 639-1 code from py3langid; stop-word counting if that package cannot load."""
    try:
        return identify_language(text)
    except ImportError:
        log.warning("py3langid is not installed; guessing the language from stop words")
        return _stopword_language(text)


def _stopword_language(text: str) -> str:
    """Guess an ISO 639-1 code from stop words; English when nothing stands out."""
    words = [w.lower() for w in _WORD.findall(text)]
    best, best_hits = "en", 0
    for code, stop in _STOPWORDS.items():
        hits = sum(1 for w in words if w in stop)
        if hits > best_hits:
            best, best_hits = code, hits
    return best


def keyword_triage(request: TriageRequest) -> TriageResult:
    """Triage one request with keyword lists and regular expressions."""
    text = request.text
    lowered = text.lower()
    scores = {
        category: sum(1 for word in words if word in lowered) for category, words in _CATEGORY_WORDS.items()
    }
    category, hits = max(scores.items(), key=lambda item: item[1])
    total = sum(scores.values())
    if hits == 0:
        category, confidence = "Other", 0.3
    else:
        confidence = round(0.4 + 0.5 * hits / total, 3)

    signals: list[str] = []
    urgency = 0.15
    for name, (pattern, weight) in SIGNALS.items():
        if pattern.search(text):
            signals.append(name)
            urgency += weight
    if CALM.search(text):
        signals.append("not_urgent_hint")
        urgency += CALM_WEIGHT
    negatives = len(_NEGATIVE.findall(text))
    positives = len(_POSITIVE.findall(text))
    sentiment = max(-1.0, min(1.0, 0.3 * (positives - negatives)))
    if sentiment < -0.25:
        signals.append("negative_sentiment")
        urgency += 0.1
    if request.vip:
        signals.append("vip_requester")
        urgency += 0.15
    urgency = round(min(max(urgency, 0.0), 1.0), 3)
    return TriageResult(
        category=category,
        confidence=confidence,
        needs_review=confidence < 0.5,
        urgency=urgency,
        urgency_label=urgency_label(urgency),
        sentiment=round(sentiment, 3),
        language=request.language or detect_language(text),
        signals=tuple(signals),
        suggested_reply=None,
        model=FALLBACK,
    )


class KeywordTriager:
    """The baseline as a `Triager`."""

    name = FALLBACK

    def triage_batch(self, requests: Sequence[TriageRequest]) -> list[TriageResult]:
        return [keyword_triage(r) for r in requests]
