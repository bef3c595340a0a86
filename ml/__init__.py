"""Triage: category, urgency S, sentiment, language and suggested reply for a ticket text."""

from ml.result import CATEGORIES, Triager, TriageRequest, TriageResult, urgency_label
from ml.service import TriageService, load_service

__all__ = [
    "CATEGORIES",
    "TriageRequest",
    "TriageResult",
    "TriageService",
    "Triager",
    "load_service",
    "urgency_label",
]
