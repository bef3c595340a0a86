"""TriageService: micro-batching gives each caller its own answer; any model trouble falls back."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from pydantic import ValidationError

from ml import TriageRequest, TriageService, load_service
from ml.model import ModelTriager
from storage.config import Settings
from tests.ml.conftest import BrokenTriager, EchoTriager, SlowTriager


async def test_concurrent_callers_share_batches_and_get_their_own_results() -> None:
    # Given a service over a recording triager
    echo = EchoTriager()
    service = TriageService(echo, max_batch=32, max_wait=0.05)
    # When 80 coroutines triage at once
    texts = [f"ticket number {i}: my invoice is wrong" for i in range(80)]
    results = await asyncio.gather(*(service.triage(TriageRequest(t)) for t in texts))
    await service.close()
    # Then each caller got the answer to its own text, in far fewer passes, none above the bound
    assert [r.suggested_reply for r in results] == texts
    assert sum(echo.batches) == 80
    assert max(echo.batches) <= 32
    assert len(echo.batches) <= 6


async def test_real_model_batched_equals_one_by_one(triager: ModelTriager) -> None:
    service = TriageService(triager)
    texts = [
        "I was charged twice",
        "site is down for all customers",
        "please add dark mode",
        "where is my order?",
        "my lawyer will call you",
        "thanks!",
    ] * 3
    together = await asyncio.gather(*(service.triage(TriageRequest(t)) for t in texts))
    one_by_one = [await service.triage(TriageRequest(t)) for t in texts]
    await service.close()
    assert together == one_by_one
    assert service.batcher is None  # closed
    assert not service.degraded and service.fallback_count == 0


async def test_model_raising_gives_fallback_result_and_degraded_flag() -> None:
    service = TriageService(BrokenTriager(failures=1))
    # When the model raises / Then the keyword baseline answers and says so
    result = await service.triage(TriageRequest("I was charged twice"))
    assert result.model == "fallback" and result.category == "Billing"
    assert service.fallback_count == 1 and service.degraded
    # When the model recovers / Then it answers again and the flag clears
    result = await service.triage(TriageRequest("I was charged twice"))
    assert result.model == "echo" and not service.degraded
    await service.close()


async def test_every_caller_of_a_failed_batch_falls_back() -> None:
    service = TriageService(BrokenTriager(), max_wait=0.05)
    results = await asyncio.gather(*(service.triage(TriageRequest(f"site is down {i}")) for i in range(10)))
    await service.close()
    assert {r.model for r in results} == {"fallback"}
    assert service.fallback_count == 10


async def test_hanging_model_times_out_to_the_fallback() -> None:
    slow = SlowTriager()
    service = TriageService(slow, timeout=0.2)
    started = time.perf_counter()
    result = await service.triage(TriageRequest("site is down"))
    assert result.model == "fallback" and time.perf_counter() - started < 2
    slow.release.set()
    await service.close()


async def test_model_that_cannot_load_leaves_the_baseline_answering() -> None:
    def loader() -> EchoTriager:
        raise FileNotFoundError("no weights here")

    service = TriageService(loader=loader)
    await service.start()
    assert service.degraded and service.model_name == "fallback"
    assert isinstance(service.load_error, FileNotFoundError)
    assert (await service.triage(TriageRequest("I was charged twice"))).model == "fallback"
    await service.close()


async def test_a_load_that_hangs_does_not_hold_callers_past_the_deadline() -> None:
    # Given a model whose loading hangs until released
    release = threading.Event()

    def loader() -> EchoTriager:
        release.wait(10)
        return EchoTriager()

    service = TriageService(loader=loader, load_timeout=0.2)
    # When tickets arrive past the load deadline / Then the baseline answers at once, flagged
    first = await service.triage(TriageRequest("site is down"))
    started = time.perf_counter()
    second = await service.triage(TriageRequest("site is down"))
    assert first.model == second.model == "fallback" and time.perf_counter() - started < 0.1
    assert service.degraded and service.loading
    # When the load finally completes / Then the model answers and the flag clears
    release.set()
    for _ in range(500):  # the loader thread finishes within milliseconds of the release
        if not service.loading:
            break
        await asyncio.sleep(0.01)
    assert (await service.triage(TriageRequest("site is down"))).model == "echo"
    assert not service.degraded
    await service.close()


async def test_load_service_is_cheap_and_calls_wait_for_the_model() -> None:
    started = time.perf_counter()
    service = load_service("auto")
    assert time.perf_counter() - started < 0.5  # loading happens in a background thread
    # A call made while it loads waits for the model rather than falling back
    result = await service.triage(TriageRequest("I was charged twice"))
    assert result.model != "fallback" and result.category == "Billing"
    assert not service.loading and not service.degraded
    await service.close()


async def test_keyword_kind_is_the_baseline_only() -> None:
    service = load_service("keyword")
    assert service.degraded and service.model_name == "fallback"
    assert (await service.triage(TriageRequest("site is down for all customers"))).model == "fallback"
    await service.close()


@pytest.mark.parametrize(("env", "largest"), [({}, range(2, 33)), ({"TRIAGE_MAX_BATCH": "1", "TRIAGE_MAX_WAIT_MS": "0"}, [1])])
async def test_batching_follows_the_settings(monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
                                             largest: range | list[int]) -> None:
    # Given TRIAGE_MAX_BATCH / TRIAGE_MAX_WAIT_MS in the environment and a model that records its passes
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    echo = EchoTriager()
    monkeypatch.setattr("ml.model.load_triager", lambda *_, **__: echo)
    service = await load_service(**Settings(_env_file=None).triage_options).start()  # type: ignore[call-arg]
    # When 40 callers triage at once
    await asyncio.gather(*(service.triage(TriageRequest(f"invoice {i}")) for i in range(40)))
    await service.close()
    # Then no pass held more than the setting allows (by default, some passes were shared)
    assert sum(echo.batches) == 40 and max(echo.batches) in largest


@pytest.mark.parametrize(("env", "given"), [({}, None), ({"MODEL_CACHE_DIR": "/srv/models"}, "/srv/models"),
                                            ({"MODEL_CACHE_DIR": ""}, "")])
async def test_the_model_cache_setting_reaches_the_loader(monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
                                                          given: str | None) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    seen: list[object] = []

    def loader(*_: object, cache_dir: object = "not given") -> EchoTriager:
        seen.append(cache_dir)
        return EchoTriager()

    monkeypatch.setattr("ml.model.load_triager", loader)
    service = await load_service(**Settings(_env_file=None).triage_options).start()  # type: ignore[call-arg]
    await service.close()
    assert seen == [given]


@pytest.mark.parametrize("env", [{"TRIAGE_MAX_BATCH": "0"}, {"TRIAGE_MAX_WAIT_MS": "-1"}])
def test_batching_settings_out_of_range_are_refused(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown triage model kind"):
        load_service("gpt")


async def test_a_cancelled_caller_does_not_disturb_the_others() -> None:
    slow = SlowTriager()
    service = TriageService(slow, max_wait=0.0)
    first = asyncio.create_task(service.triage(TriageRequest("first")))  # occupies the model thread
    await asyncio.sleep(0.05)
    doomed = asyncio.create_task(service.triage(TriageRequest("doomed")))
    kept = asyncio.create_task(service.triage(TriageRequest("kept")))
    await asyncio.sleep(0.05)
    doomed.cancel()
    slow.release.set()
    assert (await first).suggested_reply == "first"
    assert (await kept).suggested_reply == "kept"
    with pytest.raises(asyncio.CancelledError):
        await doomed
    assert service.fallback_count == 0
    await service.close()


async def test_close_waits_for_a_model_still_loading_and_leaves_no_batcher_running() -> None:
    # Given a model whose load is still under way
    release = threading.Event()
    before = set(threading.enumerate())

    def loader() -> EchoTriager:
        release.wait(10)
        return EchoTriager()

    service = TriageService(loader=loader)
    # When the service is closed meanwhile (a start-up that failed elsewhere)
    closing = asyncio.create_task(service.close())
    await asyncio.sleep(0.1)
    # Then close waits for the load (exiting while onnxruntime sets up a session aborts the process)
    assert not closing.done()
    release.set()
    await asyncio.wait_for(closing, 10)
    # And the batcher the load installed is stopped, not left behind
    assert service.batcher is None
    assert not [t for t in set(threading.enumerate()) - before if t.is_alive() and t.name == "triage-batcher"]
