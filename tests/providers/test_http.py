import pickle
from datetime import UTC, datetime

import httpx
import pytest

from generations.providers import (
    AccountConfig,
    AuthError,
    BadRequest,
    BadResponse,
    ContentRefused,
    ProviderError,
    ProviderImage,
    ProviderRequest,
    ProviderTimeout,
    QuotaError,
    RateLimited,
    ReferenceInput,
    Unavailable,
    build_adapter,
    build_http_client,
    error_from_response,
    error_from_status,
    map_transport_errors,
    parse_retry_after,
)

API_KEY = "sk-live-4f9a8b7c6d5e"


def client_raising(error: type[httpx.TransportError]) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error(f"simulated for {request.url.host}", request=request)

    return build_http_client(
        base_url="https://provider.test",
        headers={"Authorization": f"Bearer {API_KEY}"},
        connect_timeout_s=1.0,
        read_timeout_s=2.0,
        transport=httpx.MockTransport(handler),
    )


# --- status mapping ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_class", "code"),
    [
        (400, BadRequest, "bad_request"),
        (422, BadRequest, "bad_request"),
        (404, BadRequest, "bad_request"),
        (401, AuthError, "auth_failed"),
        (403, AuthError, "auth_failed"),
        (402, QuotaError, "quota_exhausted"),
        (408, ProviderTimeout, "provider_timeout"),
        (504, ProviderTimeout, "provider_timeout"),
        (429, RateLimited, "rate_limited"),
        (500, Unavailable, "provider_unavailable"),
        (502, Unavailable, "provider_unavailable"),
        (503, Unavailable, "provider_unavailable"),
        (302, BadResponse, "bad_response"),
        (200, BadResponse, "bad_response"),
    ],
)
def test_error_from_status(status: int, error_class: type[ProviderError], code: str) -> None:
    error = error_from_status(
        status, message="it failed", provider_code="SomeCode", retry_after=None, request_id="r-1"
    )

    assert type(error) is error_class
    assert error.code == code
    assert error.http_status == status
    assert error.provider_code == "SomeCode"
    assert error.request_id == "r-1"
    assert "it failed" in error.message


def test_rate_limited_keeps_retry_after() -> None:
    error = error_from_status(429, message="slow down", retry_after=30.0, request_id=None)

    assert isinstance(error, RateLimited)
    assert error.retry_after == 30.0
    assert "30 s" in error.user_message


@pytest.mark.parametrize(
    ("error", "failover_safe"),
    [
        (BadRequest(message="bad size"), False),
        (ContentRefused(message="flagged"), False),
        (AuthError(message="bad key"), True),
        (QuotaError(message="no balance"), True),
        (RateLimited(message="429"), True),
        (Unavailable(message="500"), True),
        (Unavailable(message="reset after send", before_accepted=False), False),
        (ProviderTimeout(message="read timeout"), False),
        (ProviderTimeout(message="connect timeout", before_accepted=True), True),
        (BadResponse(message="not json"), False),
    ],
)
def test_failover_safety(error: ProviderError, failover_safe: bool) -> None:
    assert error.failover_safe is failover_safe


def test_code_can_be_overridden_per_instance_only() -> None:
    error = BadRequest(message="model gone", code="model_unavailable")

    assert error.code == "model_unavailable"
    assert BadRequest.code == "bad_request"


def test_user_messages_are_plain_words() -> None:
    assert "content filter" in ContentRefused(message="InputTextSensitive").user_message
    assert "administrator" in AuthError(message="401 AuthenticationError").user_message
    assert "401" not in AuthError(message="401 AuthenticationError").user_message
    bad_size = BadRequest(message="image size must be at least 3686400 pixels")
    assert "3686400 pixels" in bad_size.user_message


def test_errors_survive_pickling() -> None:
    error = RateLimited(message="slow", http_status=429, retry_after=3.0, request_id="abc")

    restored = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object, just pickled

    assert type(restored) is RateLimited
    assert (restored.message, restored.retry_after, restored.request_id) == ("slow", 3.0, "abc")
    timeout = pickle.loads(pickle.dumps(ProviderTimeout(before_accepted=True)))  # noqa: S301
    assert timeout.failover_safe is True


def test_error_from_response_reads_headers() -> None:
    response = httpx.Response(
        429, headers={"Retry-After": "12", "X-Request-Id": "req-42"}, json={"error": {}}
    )

    error = error_from_response(response, message="too many", provider_code="RateLimitExceeded")

    assert isinstance(error, RateLimited)
    assert (error.retry_after, error.request_id) == (12.0, "req-42")


# --- Retry-After ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("30", 30.0), (" 5 ", 5.0), ("1.5", 1.5), ("0", 0.0), (None, None), ("", None)],
)
def test_parse_retry_after_seconds(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value) == seconds


@pytest.mark.parametrize("value", ["-1", "soon", "nan", "inf", "Wed, 99 Foo 2026"])
def test_parse_retry_after_rejects_nonsense(value: str) -> None:
    assert parse_retry_after(value) is None


def test_parse_retry_after_http_date() -> None:
    now = datetime(2026, 1, 7, 12, 0, 0, tzinfo=UTC)

    assert parse_retry_after("Wed, 07 Jan 2026 12:01:30 GMT", now=now) == 90.0
    assert parse_retry_after("Wed, 07 Jan 2026 11:00:00 GMT", now=now) == 0.0


# --- transport errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("transport_error", "error_class", "failover_safe"),
    [
        (httpx.ConnectError, Unavailable, True),
        (httpx.ConnectTimeout, ProviderTimeout, True),
        (httpx.PoolTimeout, ProviderTimeout, True),
        (httpx.ReadTimeout, ProviderTimeout, False),
        (httpx.ReadError, Unavailable, False),
        (httpx.RemoteProtocolError, Unavailable, False),
    ],
)
def test_transport_errors_are_mapped(
    transport_error: type[httpx.TransportError],
    error_class: type[ProviderError],
    failover_safe: bool,
) -> None:
    with (
        client_raising(transport_error) as client,
        pytest.raises(error_class) as caught,
        map_transport_errors(),
    ):
        client.post("/images", json={"prompt": "x"})

    assert type(caught.value) is error_class
    assert caught.value.failover_safe is failover_safe
    assert isinstance(caught.value.__cause__, transport_error)
    assert transport_error.__name__ in caught.value.message


def test_undecodable_body_is_a_bad_response() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=b"not gzip")

    client = build_http_client(
        connect_timeout_s=1.0, read_timeout_s=1.0, transport=httpx.MockTransport(handler)
    )
    with client, pytest.raises(BadResponse), map_transport_errors():
        client.get("https://provider.test/result")


def test_transport_error_messages_redact_secrets() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"refused for key {API_KEY}", request=request)

    client = build_http_client(
        connect_timeout_s=1.0, read_timeout_s=1.0, transport=httpx.MockTransport(handler)
    )
    with client, pytest.raises(Unavailable) as caught, map_transport_errors(secrets=[API_KEY]):
        client.get("https://provider.test/")

    assert API_KEY not in str(caught.value)
    assert API_KEY not in repr(caught.value)
    assert "[redacted]" in caught.value.message


def test_status_messages_redact_secrets() -> None:
    error = error_from_status(
        401, message=f"Incorrect API key provided: {API_KEY}", secrets=[API_KEY]
    )

    assert API_KEY not in str(error)
    assert API_KEY not in repr(error)
    assert API_KEY not in error.user_message


# --- the client -------------------------------------------------------------------------------


def test_redirects_are_not_followed() -> None:
    calls: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url)
        return httpx.Response(302, headers={"Location": "https://elsewhere.test/steal"})

    with build_http_client(
        base_url="https://provider.test",
        headers={"Authorization": f"Bearer {API_KEY}"},
        connect_timeout_s=1.0,
        read_timeout_s=1.0,
        transport=httpx.MockTransport(handler),
    ) as client:
        response = client.get("/v1/images")

    assert response.status_code == 302
    assert calls == [httpx.URL("https://provider.test/v1/images")]
    assert isinstance(error_from_response(response, message="redirect"), BadResponse)


def test_client_has_explicit_timeouts_and_base_url() -> None:
    with build_http_client(
        base_url="https://provider.test/api/",
        headers={"X-Extra": "1"},
        connect_timeout_s=3.0,
        read_timeout_s=90.0,
    ) as client:
        assert client.timeout == httpx.Timeout(connect=3.0, read=90.0, write=3.0, pool=3.0)
        assert client.follow_redirects is False
        assert client.base_url == httpx.URL("https://provider.test/api/")
        assert client.headers["X-Extra"] == "1"
        assert client.headers["User-Agent"].startswith("seedream-studio/")


def test_write_and_pool_timeouts_can_be_set() -> None:
    with build_http_client(
        connect_timeout_s=3.0, read_timeout_s=90.0, write_timeout_s=30.0, pool_timeout_s=5.0
    ) as client:
        assert client.timeout == httpx.Timeout(connect=3.0, read=90.0, write=30.0, pool=5.0)


def test_adapter_client_uses_account_timeouts_and_transport() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    account = AccountConfig(
        kind="local",
        label="demo",
        base_url="https://provider.test",
        api_key=API_KEY,
        connect_timeout_s=4.0,
        read_timeout_s=60.0,
    )
    adapter = build_adapter(account, transport=httpx.MockTransport(handler))

    with adapter.http_client(headers={"Authorization": f"Bearer {API_KEY}"}) as client:
        client.get("/ping")

    assert client.timeout == httpx.Timeout(connect=4.0, read=60.0, write=4.0, pool=4.0)
    assert seen[0].url == httpx.URL("https://provider.test/ping")
    assert adapter.secrets == (API_KEY,)


# --- secrets never shown ----------------------------------------------------------------------


def test_api_key_never_in_reprs() -> None:
    account = AccountConfig(kind="local", label="demo", api_key=API_KEY)
    adapter = build_adapter(account)

    assert API_KEY not in repr(account)
    assert API_KEY not in str(account)
    assert API_KEY not in repr(adapter)
    with adapter.http_client(headers={"Authorization": f"Bearer {API_KEY}"}) as client:
        assert API_KEY not in repr(client.headers)


def test_image_bytes_are_kept_out_of_reprs() -> None:
    payload = b"\xff\xd8" + b"A" * 5000
    image = ProviderImage(index=0, content=payload, url=None, width=1, height=1, mime="image/jpeg")
    reference = ReferenceInput(content=payload, url=None, mime="image/jpeg")

    assert len(repr(image)) < 200
    assert len(repr(reference)) < 200


# --- contract invariants ----------------------------------------------------------------------


@pytest.mark.parametrize(("content", "url"), [(None, None), (b"x", "https://a.test/x.png")])
def test_reference_needs_exactly_one_source(content: bytes | None, url: str | None) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        ReferenceInput(content=content, url=url, mime="image/png")


@pytest.mark.parametrize("change", [{"width": 0}, {"max_images": 0}, {"output_format": "webp"}])
def test_request_sanity_checks(change: dict[str, object]) -> None:
    fields: dict[str, object] = {
        "model": "seedream-4.0",
        "prompt": "p",
        "size": "1024x1024",
        "aspect_ratio": "",
        "width": 1024,
        "height": 1024,
        **change,
    }
    with pytest.raises(ValueError, match=next(iter(change))):
        ProviderRequest(**fields)  # type: ignore[arg-type]
