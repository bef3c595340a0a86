"""Logging: readable on a terminal, JSON lines elsewhere (structlog renders both)."""

from __future__ import annotations

import logging
import sys

import structlog


def configure_logging(log_format: str | None = None, level: int = logging.INFO) -> None:
    as_json = (log_format or ("text" if sys.stderr.isatty() else "json")) == "json"
    renderer = structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()
    formatter = structlog.stdlib.ProcessorFormatter(
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.processors.format_exc_info,
        ],
    )
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
