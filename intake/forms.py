"""Form sources from forms.yaml: field mappings by JSON path or form field name, secrets, signatures.

A path is dotted (`form_response.token`); a segment may index a list (`answers[0]`) or pick the
first element whose key equals a value (`answers[field.ref=email]`). A field may list several
paths: the first one present wins. For form-encoded posts the field name is the whole path.

Secrets are named in the file (`secret_env`) and looked up once, at start, in the environment
mapping the settings layer hands over (`storage.config.environment`); nothing here reads
`os.environ`, so tests pass their own mapping and a rotated secret needs a restart, like any setting.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import SecretStr

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILE = "forms.yaml"
FIELDS = ("subject", "body", "submission_id", "requester_id", "requester_name", "requester_email",
          "language", "topics")
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SELECTOR = re.compile(r"\[([^\]]*)\]")
MISSING = object()


class FormConfigError(ValueError):
    """Raised at start when forms.yaml is missing or does not describe valid sources."""


@dataclass(frozen=True, slots=True)
class Signature:
    """Where a source puts its HMAC-SHA256 of the raw body and how it spells it."""

    header: str = "X-Signature-256"
    prefix: str = "sha256="
    encoding: str = "hex"  # hex | base64

    def valid(self, secret: SecretStr, raw: bytes, given: str | None) -> bool:
        if not given or not given.startswith(self.prefix):
            return False
        digest = hmac.new(secret.get_secret_value().encode(), raw, hashlib.sha256).digest()
        text = given[len(self.prefix):].strip()
        try:
            sent = bytes.fromhex(text) if self.encoding == "hex" else base64.b64decode(text, validate=True)
        except (ValueError, binascii.Error):
            return False
        return hmac.compare_digest(digest, sent)

    def sign(self, secret: str, raw: bytes) -> str:
        """The header value a sender would compute (tests, docs, the outbound webhook)."""
        digest = hmac.new(secret.encode(), raw, hashlib.sha256).digest()
        text = digest.hex() if self.encoding == "hex" else base64.b64encode(digest).decode()
        return self.prefix + text


@dataclass(frozen=True, slots=True)
class FormSource:
    name: str
    secret_env: str
    secret: SecretStr | None
    fields: dict[str, tuple[str, ...]]
    metadata: dict[str, tuple[str, ...]] = field(default_factory=dict)
    required: frozenset[str] = frozenset({"body"})
    signature: Signature = Signature()
    enabled: bool = True
    description: str = ""


def _segments(path: str) -> list[tuple[str, list[str]]] | None:
    """`a.b[0].c[k=v]` -> [("a", []), ("b", ["0"]), ("c", ["k=v"])]; dots inside [] are kept.

    Brackets do not nest: inside one, everything up to `]` is the selector (`a[k=[]` picks k == "[").
    None for a path whose last bracket does not close: it names nothing.
    """
    out: list[tuple[str, list[str]]] = []
    depth, start = 0, 0
    for i, ch in enumerate(path + "."):
        if ch == "[":
            depth = 1
        elif ch == "]":
            depth = 0
        elif ch == "." and depth == 0:
            part = path[start:i]
            name = part.split("[", 1)[0]
            out.append((name, _SELECTOR.findall(part[len(name):])))
            start = i + 1
    return out if depth == 0 else None


def resolve(data: Any, path: str) -> Any:
    """The value at `path` in `data`, or `MISSING`; a key equal to the whole path wins (form fields)."""
    if isinstance(data, Mapping) and path in data:
        return data[path]
    segments = _segments(path)
    if segments is None:
        return MISSING
    value = data
    for name, selectors in segments:
        if name:
            if not isinstance(value, Mapping) or name not in value:
                return MISSING
            value = value[name]
        for selector in selectors:
            value = _select(value, selector)
            if value is MISSING:
                return MISSING
    return value


def _select(value: Any, selector: str) -> Any:
    if not isinstance(value, list):
        return MISSING
    if "=" not in selector:
        try:
            return value[int(selector)]
        except (ValueError, IndexError):
            return MISSING
    key, _, wanted = selector.partition("=")
    for item in value:
        found = resolve(item, key.strip())
        if found is not MISSING and str(found) == wanted.strip():
            return item
    return MISSING


def as_text(value: Any) -> str | None:
    """A mapped value as text; None when empty."""
    if value is None or value is MISSING:
        return None
    if isinstance(value, list):
        parts = [as_text(v) for v in value]
        text = ", ".join(p for p in parts if p)
    elif isinstance(value, dict):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    else:
        text = str(value)
    text = text.strip()
    return text or None


def first(data: Any, paths: tuple[str, ...]) -> Any:
    for path in paths:
        value = resolve(data, path)
        if value is not MISSING and as_text(value) is not None:
            return value
    return MISSING


def _paths(source: str, key: str, value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(p, str) and p.strip() for p in items):
        raise FormConfigError(f"forms: source {source!r}: {key} must be a path or a list of paths")
    return tuple(p.strip() for p in items)


def parse_source(name: str, entry: Any, environ: Mapping[str, str]) -> FormSource:
    if not NAME.match(name):
        raise FormConfigError(f"forms: source name {name!r}: use a-z, 0-9, _ and - (at most 48)")
    if not isinstance(entry, dict):
        raise FormConfigError(f"forms: source {name!r} must be a mapping")
    secret_env = entry.get("secret_env") or f"FORM_SECRET_{name.upper().replace('-', '_')}"
    if not isinstance(secret_env, str) or not ENV_NAME.match(secret_env):
        raise FormConfigError(f"forms: source {name!r}: secret_env must be an environment variable name")
    raw_fields = entry.get("fields") or {}
    if not isinstance(raw_fields, dict):
        raise FormConfigError(f"forms: source {name!r}: fields must be a mapping")
    unknown = sorted(set(raw_fields) - set(FIELDS))
    if unknown:
        raise FormConfigError(f"forms: source {name!r}: unknown field(s) {unknown}; known: {list(FIELDS)}")
    if "body" not in raw_fields:
        raise FormConfigError(f"forms: source {name!r}: fields.body is required")
    raw_meta = entry.get("metadata") or {}
    if not isinstance(raw_meta, dict):
        raise FormConfigError(f"forms: source {name!r}: metadata must be a mapping of name: path")
    required = entry.get("required") or []
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required) \
            or not set(required) <= set(raw_fields):
        raise FormConfigError(f"forms: source {name!r}: required must list mapped fields")
    sig = entry.get("signature") or {}
    if not isinstance(sig, dict) or sig.get("encoding", "hex") not in ("hex", "base64"):
        raise FormConfigError(f"forms: source {name!r}: signature needs header, prefix, encoding hex|base64")
    secret = environ.get(secret_env) or None
    return FormSource(
        name=name,
        secret_env=secret_env,
        secret=SecretStr(secret) if secret else None,
        fields={key: _paths(name, key, value) for key, value in raw_fields.items()},
        metadata={str(key): _paths(name, f"metadata.{key}", value) for key, value in raw_meta.items()},
        required=frozenset({"body", *required}),
        signature=Signature(header=str(sig.get("header", "X-Signature-256")),
                            prefix=str(sig.get("prefix", "sha256=")),
                            encoding=str(sig.get("encoding", "hex"))),
        enabled=bool(entry.get("enabled", True)),
        description=str(entry.get("description", "")),
    )


def parse_sources(document: Any, environ: Mapping[str, str]) -> dict[str, FormSource]:
    if document is None:
        return {}
    if not isinstance(document, dict) or not isinstance(document.get("sources", {}), dict):
        raise FormConfigError("forms: the file must hold `sources: {<name>: {...}}`")
    return {str(name): parse_source(str(name), entry, environ)
            for name, entry in (document.get("sources") or {}).items()}


def locate(setting: str) -> Path | None:
    """The forms file: FORM_SOURCES as given, the repo's own for the default name, None when blank."""
    if not setting.strip():
        return None
    path = Path(setting)
    if path.exists():
        return path
    if setting == DEFAULT_FILE and (REPO_ROOT / DEFAULT_FILE).exists():
        return REPO_ROOT / DEFAULT_FILE
    raise FormConfigError(f"FORM_SOURCES names {setting!r}, which does not exist")


def load_sources(setting: str, environ: Mapping[str, str]) -> dict[str, FormSource]:
    """Every source of the forms file, secrets looked up in `environ` once."""
    path = locate(setting)
    if path is None:
        return {}
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise FormConfigError(f"forms: {path} is not valid YAML: {exc}") from exc
    return parse_sources(document, environ)
