"""The provider layer: one contract, one error tree, one HTTP client factory, one module per
provider. Pure Python (httpx + Pillow); nothing here imports Django.
"""

# `local` is imported for its registration: the demo provider is always available.
from generations.providers import local
from generations.providers.base import BaseAdapter
from generations.providers.contract import (
    ProviderAdapter,
    ProviderImage,
    ProviderImageFailure,
    ProviderOutcome,
    ProviderUsage,
)
from generations.providers.errors import (
    AuthError,
    BadRequest,
    BadResponse,
    ContentRefused,
    ProviderError,
    ProviderTimeout,
    QuotaError,
    RateLimited,
    Unavailable,
)
from generations.providers.http import (
    build_http_client,
    error_from_response,
    error_from_status,
    map_transport_errors,
    parse_retry_after,
)
from generations.providers.inputs import AccountConfig, ProviderRequest, ReferenceInput
from generations.providers.jobs import JobAdapter, JobStatus, ProviderJob
from generations.providers.registry import (
    adapter_kinds,
    build_adapter,
    get_adapter_class,
    register_adapter,
)

__all__ = [
    "AccountConfig",
    "AuthError",
    "BadRequest",
    "BadResponse",
    "BaseAdapter",
    "ContentRefused",
    "JobAdapter",
    "JobStatus",
    "ProviderAdapter",
    "ProviderError",
    "ProviderImage",
    "ProviderImageFailure",
    "ProviderJob",
    "ProviderOutcome",
    "ProviderRequest",
    "ProviderTimeout",
    "ProviderUsage",
    "QuotaError",
    "RateLimited",
    "ReferenceInput",
    "Unavailable",
    "adapter_kinds",
    "build_adapter",
    "build_http_client",
    "error_from_response",
    "error_from_status",
    "get_adapter_class",
    "local",
    "map_transport_errors",
    "parse_retry_after",
    "register_adapter",
]
