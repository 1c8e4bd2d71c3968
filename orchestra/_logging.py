"""structlog set-up; only the CLI calls :func:`configure_logging` (the library itself only logs)."""

from __future__ import annotations

import logging
import sys

import structlog

__all__ = ("configure_logging",)

LEVELS = ("trace", "debug", "info", "warning", "error", "critical")
"""``trace`` is Extism's lowest level: plug-ins' ``log_trace`` lines come through (as
debug events marked ``extism_level="trace"``); Orchestra's own events are as at debug."""
_STRUCTLOG_LEVELS = {"trace": logging.NOTSET}


def configure_logging(fmt: str = "console", level: str = "warning") -> None:
    """Events go to stderr (stdout carries results), as JSON lines or for humans."""
    renderer: structlog.typing.Processor
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            _STRUCTLOG_LEVELS.get(level, getattr(logging, level.upper(), logging.WARNING))
        ),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
