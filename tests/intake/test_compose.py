"""compose.yaml and the Dockerfile, checked without a Docker engine: services, commands, settings."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from intake.__main__ import check_exposure
from storage.config import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
DOCKERFILE = (ROOT / "Dockerfile").read_text()
WORKER_COMMAND = ["dramatiq", "intake.worker", "--processes", "2", "--threads", "8", "--queues", "ml", "default", "chat"]
_VARIABLE = re.compile(r"\$\{(\w+)(?::([-?])([^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error}, as `docker compose` resolves them."""

    def one(match: re.Match[str]) -> str:
        name, kind, rest = match.groups()
        if env.get(name):
            return env[name]
        if kind == "?":
            raise KeyError(f"{name}: {rest}")
        return rest if kind == "-" else ""

    return _VARIABLE.sub(one, value)


def environment(service: str, env: dict[str, str]) -> dict[str, str]:
    """The variables a service's container gets (a name without a value passes the shell's through)."""
    out = {}
    for name, value in COMPOSE["services"][service]["environment"].items():
        if value is None:
            if env.get(name):
                out[name] = env[name]
        else:
            out[name] = interpolate(str(value), env)
    return out


def settings_for(service: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name, value in environment(service, env).items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


def test_compose_has_the_four_services_with_healthchecks_and_ordered_start():
    services = COMPOSE["services"]
    assert set(services) == {"postgres", "redis", "intake", "worker"}
    for name, service in services.items():
        assert service["healthcheck"]["test"], name
    for name in ("intake", "worker"):
        for dependency in ("postgres", "redis"):
            assert services[name]["depends_on"][dependency] == {"condition": "service_healthy"}
    # The worker waits for intake, which applies the migrations at start
    assert services["worker"]["depends_on"]["intake"] == {"condition": "service_healthy"}


def test_intake_and_worker_run_the_documented_commands_from_one_image():
    services = COMPOSE["services"]
    assert services["intake"]["command"] == ["python", "-m", "intake"]
    assert services["worker"]["command"] == WORKER_COMMAND
    assert services["intake"]["build"] == services["worker"]["build"] == "."
    # And the queues the worker listens on are exactly the ones the actors use
    actors = (ROOT / "workers" / "actors.py").read_text()
    assert set(re.findall(r'queue_name="(\w+)"', actors)) == set(WORKER_COMMAND[WORKER_COMMAND.index("--queues") + 1:])
    # And intake's healthcheck asks the readiness endpoint the app serves
    assert "/readyz" in " ".join(services["intake"]["healthcheck"]["test"])


def test_every_variable_is_a_setting_or_a_form_secret():
    # Given the environment the app containers get
    fields = {name.upper() for name in Settings.model_fields}
    for service in ("intake", "worker"):
        for name in COMPOSE["services"][service]["environment"]:
            # Then each one is read by Settings (or is a form source's secret_env)
            assert name in fields or name.startswith("FORM_SECRET_"), (service, name)


def test_tokens_are_required_and_the_resolved_settings_are_production_ones(monkeypatch):
    # Given no tokens, compose refuses to resolve the file
    with pytest.raises(KeyError, match="API_TOKEN"):
        environment("intake", {})
    # Given tokens in the shell, and no optional chat credentials
    env = {"API_TOKEN": "user", "ADMIN_TOKEN": "admin"}
    intake = settings_for("intake", env, monkeypatch)
    # Then intake listens on every interface with both tokens, so it is allowed to start
    assert intake.host == "0.0.0.0" and intake.port == 8080
    assert check_exposure(intake) is None
    assert intake.api_token is not None and intake.api_token.get_secret_value() == "user"
    # And it uses PostgreSQL and Redis on the compose network, not the embedded defaults
    assert intake.database_url.startswith("postgresql+asyncpg://") and "@postgres:5432/" in intake.database_url
    assert intake.redis_url == "redis://redis:6379/0" and not intake.embedded
    # And unset optional credentials stay unset (a blank Slack token would count as configured)
    assert intake.slack_bot_token is None and intake.discord_public_key is None
    worker = settings_for("worker", env, monkeypatch)
    assert worker.database_url == intake.database_url and worker.redis_url == intake.redis_url


def test_published_port_is_the_one_intake_listens_on():
    ports: list[Any] = COMPOSE["services"]["intake"]["ports"]
    assert [p.rsplit(":", 1)[-1] for p in ports] == [COMPOSE["services"]["intake"]["environment"]["PORT"]]


def test_dockerfile_is_cpu_only_offline_non_root_with_the_model_checked_at_build():
    lines = [line.strip() for line in DOCKERFILE.splitlines()]
    assert "HF_HUB_OFFLINE=1" in DOCKERFILE and "TRANSFORMERS_OFFLINE=1" in DOCKERFILE
    assert "download.pytorch.org/whl/cpu" in DOCKERFILE and "grep -E '^torch=='" in DOCKERFILE
    assert re.search(r"^torch==\S+$", (ROOT / "requirements.txt").read_text(), re.M)
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    # the quantized model is built at build time where the running processes look for it
    cache = re.search(r"^ENV MODEL_CACHE_DIR=(\S+)$", DOCKERFILE, re.M)
    assert cache and f"load_triager('onnx', 1, cache_dir='{cache.group(1)}')" in DOCKERFILE
    assert lines[-1] == 'CMD ["python", "-m", "intake"]'
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".env"} <= set(ignored)
