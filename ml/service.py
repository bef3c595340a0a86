"""The async face of triage that workers and intake call: loading, micro-batching and fallback live here.

Concurrent `triage()` calls are gathered by a `MicroBatcher` into one forward pass (up to
`max_batch` requests, or whatever arrived within `max_wait` of the first). The batcher owns one
thread that runs the model; callers only await a future, so neither the model nor its loading
ever runs on an event loop. It is a thread with `concurrent.futures` rather than an asyncio
queue on purpose: the service is built off-loop (intake calls `load_service` in a thread) and
may be awaited from more than one loop in a process (dramatiq's loop thread, intake's loop,
per-test loops), and a thread-side queue is correct for all of them.

If the model fails to load, raises, or takes longer than `timeout`, the keyword baseline answers
(`model == "fallback"`), `fallback_count` grows and `degraded` is true until the model answers again.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

from ml.baseline import KeywordTriager, keyword_triage
from ml.result import Triager, TriageRequest, TriageResult

log = logging.getLogger(__name__)

MAX_BATCH = 32
MAX_WAIT = 0.010  # seconds the first request of a batch waits for company
TIMEOUT = 30.0  # seconds a caller waits for the model before the baseline answers
LOAD_TIMEOUT = 120.0  # seconds after construction that callers wait for the model to load

_Item = tuple[TriageRequest, "Future[TriageResult]"]


class MicroBatcher:
    """One thread that runs `triager.triage_batch` on batches gathered from many callers."""

    def __init__(self, triager: Triager, max_batch: int = MAX_BATCH, max_wait: float = MAX_WAIT) -> None:
        self.triager = triager
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.batches = 0  # forward passes run, for tests and the benchmark
        self.largest_batch = 0
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="triage-batcher", daemon=True)
        self._thread.start()

    def submit(self, request: TriageRequest) -> Future[TriageResult]:
        """Queue one request; the future resolves with its own result (or the batch's error)."""
        future: Future[TriageResult] = Future()
        self._queue.put((request, future))
        return future

    def stop(self) -> None:
        """Finish the queued work and end the thread (blocks; call it off the event loop)."""
        self._queue.put(None)
        self._thread.join()

    def _gather(self, first: _Item) -> tuple[list[_Item], bool]:
        batch, stopping = [first], False
        deadline = time.monotonic() + self.max_wait
        while len(batch) < self.max_batch:
            remaining = deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                stopping = True
                break
            batch.append(item)
        return batch, stopping

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                return
            batch, stopping = self._gather(first)
            # A caller that gave up (cancelled) is dropped before the forward pass.
            live = [(r, f) for r, f in batch if f.set_running_or_notify_cancel()]
            if not live:
                continue
            self.batches += 1
            self.largest_batch = max(self.largest_batch, len(live))
            try:
                results = self.triager.triage_batch([r for r, _ in live])
                if len(results) != len(live):
                    raise RuntimeError(f"triager returned {len(results)} results for {len(live)} requests")
            except BaseException as exc:  # handed to every caller, who falls back; the thread lives on
                for _, future in live:
                    future.set_exception(exc)
                continue
            for (_, future), result in zip(live, results, strict=True):
                future.set_result(result)


class TriageService:
    """Triage for coroutines: batches model calls off the loop; the keyword baseline answers whenever it fails.

    Build it with a ready `triager`, or with a `loader` that runs in a background thread at once
    (so construction is cheap); calls made while it loads wait for it, until `load_timeout` after
    construction; past that, a load still running counts as a failure and the baseline answers.
    """

    def __init__(
        self,
        triager: Triager | None = None,
        *,
        loader: Callable[[], Triager] | None = None,
        max_batch: int = MAX_BATCH,
        max_wait: float = MAX_WAIT,
        timeout: float = TIMEOUT,
        load_timeout: float = LOAD_TIMEOUT,
    ) -> None:
        self.fallback_count = 0
        self.timeout = timeout
        self.load_error: BaseException | None = None
        self._max_batch, self._max_wait = max_batch, max_wait
        self._batcher: MicroBatcher | None = None
        self._keyword = KeywordTriager()
        self._model_failing = False
        self._loaded: Future[Triager] = Future()
        self._load_deadline = time.monotonic() + load_timeout
        if loader is None:
            self._install(triager or self._keyword)
        else:
            threading.Thread(target=self._load, args=(loader,), name="triage-loader", daemon=True).start()

    def _install(self, triager: Triager) -> None:
        if not isinstance(triager, KeywordTriager):
            self._batcher = MicroBatcher(triager, self._max_batch, self._max_wait)
        self.triager = triager
        self._loaded.set_result(triager)

    def _load(self, loader: Callable[[], Triager]) -> None:
        started = time.perf_counter()
        try:
            triager = loader()
        except BaseException as exc:  # any load failure (missing package, bad heads) means: baseline
            log.exception("triage model failed to load; the keyword baseline answers")
            self.load_error = exc
            self._install(self._keyword)
            return
        log.info("triage model %s loaded in %.1fs", triager.name, time.perf_counter() - started)
        self._install(triager)

    @property
    def loading(self) -> bool:
        """True while the model is still loading in the background."""
        return not self._loaded.done()

    @property
    def model_name(self) -> str:
        return self.triager.name if self._loaded.done() else "loading"

    @property
    def degraded(self) -> bool:
        """True when the keyword baseline is answering: it was chosen, the model failed to load, or last raised."""
        if self._model_failing:
            return True
        return self._loaded.done() and isinstance(self.triager, KeywordTriager)

    @property
    def batcher(self) -> MicroBatcher | None:
        return self._batcher

    async def start(self) -> TriageService:
        """Wait (without blocking the loop) until the model has loaded or failed to; optional.

        Raises TimeoutError if it is still loading at the load deadline.
        """
        if not self._loaded.done():
            remaining = max(self._load_deadline - time.monotonic(), 0.0)
            await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(self._loaded)), remaining)
        return self

    async def triage(self, request: TriageRequest) -> TriageResult:
        """Triage one request; never raises for model trouble (the baseline answers instead)."""
        try:
            if not self._loaded.done():
                await self.start()
            if self._batcher is None:
                return keyword_triage(request)
            result = await asyncio.wait_for(asyncio.wrap_future(self._batcher.submit(request)), self.timeout)
        except (asyncio.CancelledError, KeyboardInterrupt, SystemExit):
            raise
        except BaseException:  # the model may fail in any way; the pipeline must not stall on it
            log.exception("triage model failed; the keyword baseline answers")
            self.fallback_count += 1
            self._model_failing = True
            return keyword_triage(request)
        self._model_failing = False
        return result

    async def close(self) -> None:
        """Stop the batcher. A model still loading is waited for first (until the load deadline): a
        process that exits while a thread is inside onnxruntime's session setup is aborted (SIGABRT,
        "terminate called without an active exception"), as `python -m intake` was when a bad
        forms.yaml stopped it in its first second."""
        if not self._loaded.done():
            try:
                await self.start()
            except TimeoutError:
                log.warning("triage model still loading at shutdown; not waiting for it")
        if self._batcher is not None:
            await asyncio.to_thread(self._batcher.stop)
            self._batcher = None


def load_service(
    kind: str = "auto", *, threads: int | None = None, max_batch: int = MAX_BATCH, max_wait: float = MAX_WAIT,
    cache_dir: str | None = None, heads_dir: str | Path | None = None,
) -> TriageService:
    """Build the triage service cheaply; the model (if any) loads in a background thread.

    `kind`: "keyword" (baseline only), "auto" (the int8 ONNX model, baseline if it cannot load),
    "torch" (the fp32 transformers + torch model, same fallback). `cache_dir`: where the quantized
    model is kept between starts (None: the user's cache directory; "": nowhere). `heads_dir`: the
    heads to serve (None: the committed ones in ml/heads).
    """
    if kind == "keyword":
        return TriageService(KeywordTriager())
    if kind not in ("auto", "onnx", "torch"):
        raise ValueError(f"unknown triage model kind {kind!r}: expected auto, onnx, torch or keyword")
    backend = "torch" if kind == "torch" else "onnx"

    def loader() -> Triager:
        from ml.model import load_triager

        return load_triager(backend, threads, heads_dir, cache_dir=cache_dir)

    return TriageService(loader=loader, max_batch=max_batch, max_wait=max_wait)
