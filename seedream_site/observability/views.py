"""``/healthz`` for load balancers and orchestrators, ``/metrics`` for Prometheus."""

import hmac
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client.exposition import choose_encoder

from .health import CheckResult, run_checks
from .metrics import registry

logger = logging.getLogger(__name__)


def operator_access(request: HttpRequest) -> bool:
    """Staff with a session, or ``Authorization: Bearer <METRICS_TOKEN>`` when one is set."""
    token = settings.METRICS_TOKEN
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if token and scheme.lower() == "bearer":
        return hmac.compare_digest(presented.strip().encode(), token.encode())
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and user.is_staff)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database, the broker and the storage all answer, 503 otherwise.

    Open to anyone (probes carry no credentials), so a failed check shows only the error's
    type; its message, which may name internal hosts, goes to the log and to operators.
    """
    results = run_checks()
    detailed = operator_access(request)
    for name, result in results.items():
        if not result.ok:
            logger.warning("health check %s failed: %s: %s", name, result.error_type, result.error)
    healthy = all(result.ok for result in results.values())
    return JsonResponse(
        {
            "status": "ok" if healthy else "error",
            "checks": {name: _check_entry(result, detailed) for name, result in results.items()},
        },
        status=200 if healthy else 503,
    )


def _check_entry(result: CheckResult, detailed: bool) -> dict[str, object]:
    entry: dict[str, object] = {"ok": result.ok, "latency_ms": result.latency_ms}
    if not result.ok:
        entry["error"] = result.error if detailed else result.error_type
    return entry


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not operator_access(request):
        response = HttpResponse("Staff session or metrics token required.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    # The format the scraper asks for (OpenMetrics for Prometheus), the classic text otherwise.
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encode(registry()), content_type=content_type)
