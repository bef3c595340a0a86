# Switchboard: one image for the intake server and the workers (CPU-only torch, non-root).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HOST=0.0.0.0 PORT=8080

WORKDIR /app
COPY requirements.txt .
# torch==2.13.0 is pinned; its CPU wheel comes from PyTorch's CPU index so no CUDA packages are pulled.
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu -r requirements.txt

COPY . .
RUN useradd --create-home --uid 10001 switchboard && mkdir -p /data && chown switchboard /data
USER switchboard
ENV DATABASE_URL=sqlite+aiosqlite:////data/switchboard.db

EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz')"
# Off loopback the server refuses to start without API_TOKEN and ADMIN_TOKEN.
CMD ["python", "-m", "intake"]
