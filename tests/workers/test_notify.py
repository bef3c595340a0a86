"""Notifications fan out one message per notifier, so a failing one is retried alone."""

from __future__ import annotations

from workers.notify import RecordingNotifier


class Flaky:
    """Fails its first two calls, like a chat platform answering 500."""

    name = "flaky"

    def __init__(self) -> None:
        self.calls = 0

    async def ticket_event(self, ticket_id: str, kind: str) -> None:
        self.calls += 1
        if self.calls <= 2:
            raise ConnectionError("platform answered 500")


async def test_a_failing_notifier_is_retried_without_repeating_the_others(app):
    # Given a second notifier that fails twice before it works
    flaky = Flaky()
    app.services.runtime.notifiers.append(flaky)
    recording: RecordingNotifier = app.notifier
    # When a ticket is routed (one "no_candidates" notification: there are no agents)
    ticket_id = (await (await app.post("/v1/tickets", {"body": "printer jam"})).json())["id"]
    await app.drain(limit=60)
    # Then the flaky one got there on its third try, and the other heard it exactly once
    assert flaky.calls == 3
    assert recording.calls.count((ticket_id, "no_candidates")) == 1
