"""Urgency signals read straight from the text, lexicon sentiment, and language detection.

The regexes name *why* a ticket is urgent; the learned urgency head takes them as features
beside the embedding, so a signal both drives S and explains it. Kept free of numpy and the
model so the keyword fallback can use them too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import Any

# name -> (pattern, weight the keyword fallback adds to S when it fires)
SIGNALS: dict[str, tuple[re.Pattern[str], float]] = {
    "outage": (
        re.compile(
            r"\b(outage|(is|are|went|goes|been|site|app|everything|service|production|prod) (completely )?down|"
            r"down for|offline|unreachable|not loading|nothing loads|white screen|blank screen|"
            r"5\d\d errors?|(returns?|returning|throws?|throwing|getting|gives?) (an? )?(http )?5\d\d|"
            r"cannot access|can'?t access|nobody can|no one can|"
            r"(all|every) (of )?(our )?(customers?|users?|requests?|employees|staff|stores?))\b",
            re.I,
        ),
        0.45,
    ),
    "many_affected": (
        re.compile(
            r"\b(all (of )?(our|my) |every (single )?(customer|user)|whole (team|company|site|call centre)|"
            r"entire (company|team|site)|\d{2,} (people|users|staff|employees|customers|stores))",
            re.I,
        ),
        0.15,
    ),
    "data_loss": (
        re.compile(
            r"\b(data loss|lost (all|our) data|(have |has )?disappeared|deleting (our )?(data|users)|"
            r"deleted (all|everything)|encrypted|ransomware)\b",
            re.I,
        ),
        0.35,
    ),
    "security": (
        re.compile(
            r"\b(hack(ed|ers?)|(data|security) breach|breach notice|compromised|account takeover|taken over|took over|leak(ed)?|phishing|"
            r"unknown ips?|stolen|fraud(ulent)?|attack)\b",
            re.I,
        ),
        0.4,
    ),
    "money_lost": (
        re.compile(
            r"\b(charged (us |me )?(twice|\d+ times)|double[- ]charged|overcharged|over-?billed|"
            r"(losing|lose|lost) (money|revenue|sales|orders|thousands)|costs? us|unauthori[sz]ed (charge|payment)|"
            r"cannot take (any )?(money|payments)|can'?t pay|no customer can pay|payroll|cash flow)\b",
            re.I,
        ),
        0.35,
    ),
    "deadline": (
        re.compile(
            r"\b(asap|(?<!not )urgent(ly)?|immediately|right now|as we speak|today|tonight|tomorrow|end of (the )?day|"
            r"by (monday|tuesday|wednesday|thursday|friday)|deadline|due today|"
            r"within \d+ (hours?|minutes?)|in (an?|one|two|\d+) hours?)\b",
            re.I,
        ),
        0.25,
    ),
    "legal_threat": (
        re.compile(
            r"\b(lawyers?|attorneys?|solicitors?|lawsuit|sue|suing|legal action|court|regulator|"
            r"subpoena|cease and desist|class action|consumer protection|police)\b",
            re.I,
        ),
        0.4,
    ),
}

# Phrases that say the writer does not need a fast answer; a feature for the head, and the
# fallback subtracts for it.
CALM = re.compile(
    r"\b(not urgent|no rush|low priority|whenever you (get|have) (a )?(chance|time)|"
    r"not a big deal|minor:|when you can)\b",
    re.I,
)
CALM_WEIGHT = -0.15

FEATURE_NAMES: tuple[str, ...] = (*SIGNALS, "calm")


def text_signals(text: str) -> list[str]:
    """Names of the urgency signals whose patterns occur in `text`."""
    found = [name for name, (pattern, _) in SIGNALS.items() if pattern.search(text)]
    if CALM.search(text):
        found.append("calm")
    return found


def signal_flags(found: Sequence[str]) -> list[float]:
    """0/1 per entry of FEATURE_NAMES, in that order, for the signals `text_signals` found."""
    return [1.0 if name in found else 0.0 for name in FEATURE_NAMES]


@cache
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def lexicon_sentiment(text: str) -> float:
    """VADER's compound polarity in [-1, 1] (a rule-based lexicon, MIT; no model weights)."""
    return float(_vader().polarity_scores(text)["compound"])


# The languages support can answer in; restricting the detector keeps short texts from being
# labelled as, say, Luxembourgish because of one rare word.
LANGUAGES = (
    "en",
    "de",
    "fr",
    "es",
    "it",
    "pt",
    "nl",
    "pl",
    "sv",
    "da",
    "no",
    "fi",
    "cs",
    "tr",
    "ru",
    "uk",
    "ja",
    "zh",
    "ko",
    "ar",
)


@cache
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(LANGUAGES))
    return identifier


def identify_language(text: str, default: str = "en") -> str:
    """ISO 639-1 code from py3langid (BSD-3, ships its model); `default` when unsure or too short."""
    if len(text.split()) < 3:
        return default
    code, probability = _identifier().classify(text)
    return str(code) if probability >= 0.8 else default
