"""What operators see of a running installation: logs, health and metrics.

- ``context``: the request id and generation id that every log line carries (contextvars).
- ``middleware``: takes or makes a request id per request and echoes it as ``X-Request-Id``.
- ``redaction``: strips API keys, ``Authorization`` values and known secrets from every record.
- ``logs``: the JSON formatter, the filter that stamps ids on records, and logging set-up.
- ``health`` / ``metrics`` / ``views``: ``/healthz`` and ``/metrics``.
"""
