"""Prometheus metrics of the pipeline and of chat delivery, shared by every process that does the work.

intake serves them on `/metrics`; a Redis-mode worker process counts its own (see README).
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

CHAT_POSTS = Counter("switchboard_chat_posts_total", "Chat calls that succeeded", ["platform", "kind"])
CHAT_RATE_LIMITED = Counter("switchboard_chat_rate_limited_total", "429 answers from a chat platform", ["platform"])
CHAT_FAILURES = Counter("switchboard_chat_failures_total", "Chat calls that failed (retried by the actor)",
                        ["platform"])
CHAT_DELAY = Histogram("switchboard_chat_post_delay_seconds", "Time a card waited for its channel's rate limit",
                       ["platform"], buckets=(0.0, 0.1, 0.5, 1, 2, 5, 10, 30, 60))
