"""Fetching provider-hosted output images (their URLs expire, so we copy them at once)."""

from django.conf import settings

from ..providers import BadResponse, build_http_client, map_transport_errors


def image_download(url: str) -> bytes:
    """Download one output image within the size cap and timeouts; provider errors on failure."""
    if not url.startswith(("https://", "http://")):
        raise BadResponse(
            code="bad_response",
            message=f"The provider returned an unusable image URL: {url[:80]!r}.",
        )
    limit = settings.OUTPUT_MAX_BYTES
    with (
        build_http_client(
            connect_timeout_s=settings.OUTPUT_DOWNLOAD_CONNECT_TIMEOUT_S,
            read_timeout_s=settings.OUTPUT_DOWNLOAD_READ_TIMEOUT_S,
        ) as client,
        map_transport_errors(),
        client.stream("GET", url) as response,
    ):
        if response.status_code != 200:
            raise BadResponse(
                code="bad_response",
                message=f"The provider's image link answered HTTP {response.status_code} "
                "(expired or removed).",
                http_status=response.status_code,
            )
        chunks: list[bytes] = []
        received = 0
        for chunk in response.iter_bytes():
            received += len(chunk)
            if received > limit:
                raise BadResponse(
                    code="bad_response",
                    message=f"The provider's image is larger than {limit // (1024 * 1024)} MB.",
                )
            chunks.append(chunk)
    return b"".join(chunks)
