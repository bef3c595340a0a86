"""Typed application state: what handlers reach through `request.app[SERVICES]`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import dramatiq
from aiohttp import web

from storage.config import Settings
from workers.doorbell import Doorbell
from workers.runtime import Runtime


@dataclass
class Services:
    settings: Settings
    runtime: Runtime
    doorbell: Doorbell
    broker: dramatiq.Broker
    worker: dramatiq.Worker | None = None
    extras: dict[str, Any] = field(default_factory=dict)


SERVICES: web.AppKey[Services] = web.AppKey("services", Services)


def services(request: web.Request) -> Services:
    return request.app[SERVICES]
