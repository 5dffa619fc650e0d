"""What operators see of a running installation: logs, health and metrics.

- ``middleware``: takes or makes a request id per request and echoes it as ``X-Request-Id``.
- ``logs``: the JSON formatter, the filter that stamps ids on records, and logging set-up.
- ``health`` / ``metrics`` / ``views``: ``/healthz`` and ``/metrics``.

The ids every log line carries (``studio_core.log_context``) and the scrubbing of secrets
(``studio_core.redaction``) live in ``studio_core``: the apps set and feed them too, and they
import nothing above them.
"""
