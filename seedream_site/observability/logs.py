"""Log formats and set-up: one JSON object per line in production, readable text otherwise.

``settings.LOGGING_CONFIG`` names ``configure_logging``, so Django, the web server's workers
and Celery (which keeps Django's root logger: ``CELERY_WORKER_HIJACK_ROOT_LOGGER = False``)
all log through the same formatters with secrets scrubbed.

Both formatters read the request id and generation id from ``context`` when they format: a
stream handler formats in the thread and context that logged, so the ids are the caller's.
An id passed explicitly (``extra={"generation_id": …}``) wins over the context's.
"""

import json
import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from studio_core.log_context import current_generation_id, current_request_id
from studio_core.redaction import install_record_redaction, redact, remember_secrets

# Attributes every record has; anything else on a record came from ``extra=``.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", logging.INFO, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
}


def configure_logging(config: dict[str, Any]) -> None:
    """``settings.LOGGING_CONFIG``: apply ``LOGGING``, then scrub secrets from every record."""
    logging.config.dictConfig(config)
    remember_secrets(settings.SECRETS_NEVER_LOGGED)
    install_record_redaction()


def _ids(record: logging.LogRecord) -> tuple[str | None, str | None]:
    request_id = getattr(record, "request_id", None) or current_request_id()
    generation_id = getattr(record, "generation_id", None) or current_generation_id()
    return request_id, (str(generation_id) if generation_id else None)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, ids, and ``extra`` fields.

    Only ``extra`` values that are JSON scalars are kept (strings scrubbed like the message):
    an object such as Django's ``request`` would print its own repr, which nothing scrubbed.
    """

    def format(self, record: logging.LogRecord) -> str:
        request_id, generation_id = _ids(record)
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id,
            "generation_id": generation_id,
            "process": record.process,
            "thread": record.threadName,
        }
        for key, value in vars(record).items():
            if key in _RECORD_ATTRIBUTES or key in payload or key.startswith("_"):
                continue
            if isinstance(value, str):
                payload[key] = redact(value)
            elif value is None or isinstance(value, bool | int | float):
                payload[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(self.formatException(record.exc_info))
        if record.exc_text:
            payload["exception"] = record.exc_text
        if record.stack_info:
            payload["stack"] = record.stack_info
        return json.dumps(payload, ensure_ascii=False, default=str)


class PlainFormatter(logging.Formatter):
    """``time LEVEL logger [request=… generation=…]: message`` (ids only when there are any)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(_context_ids)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        request_id, generation_id = _ids(record)
        ids = [f"request={request_id}"] if request_id else []
        if generation_id:
            ids.append(f"generation={generation_id}")
        record._context_ids = f" [{' '.join(ids)}]" if ids else ""
        return super().format(record)
