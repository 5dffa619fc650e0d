"""The emulators on a loopback port keep connections alive between requests, as the providers'
APIs do, so a benchmark's client reuses them instead of connecting for every call."""

from typing import Any

import httpx

from tests.emulators.ark import ArkEmulator
from tests.emulators.replicate import ReplicateEmulator

AUTH = {"Authorization": "Bearer test-key"}


def client_recording_ports(base_url: str, ports: list[int]) -> httpx.Client:
    """A client noting the local port of the connection each response came on."""

    def note(response: httpx.Response) -> None:
        stream: Any = response.extensions["network_stream"]
        ports.append(stream.get_extra_info("client_addr")[1])

    return httpx.Client(base_url=base_url, event_hooks={"response": [note]})


def test_a_connection_carries_one_request_after_another() -> None:
    ports: list[int] = []
    with ReplicateEmulator().serve() as base_url, client_recording_ports(base_url, ports) as client:
        responses = [client.get("/v1/account", headers=AUTH) for _ in range(5)]

    assert [response.status_code for response in responses] == [200] * 5
    assert len(ports) == 5
    assert len(set(ports)) == 1
    assert "connection" not in responses[0].headers


def test_a_response_of_unknown_length_ends_its_connection() -> None:
    body = {"model": "doubao-seedream-4-0-250828", "prompt": "a kite", "size": "1K", "stream": True}
    ports: list[int] = []
    with ArkEmulator().serve() as base_url, client_recording_ports(base_url, ports) as client:
        with client.stream(
            "POST", "/api/v3/images/generations", json=body, headers=AUTH
        ) as streamed:
            events = streamed.read()
        after = client.get("/v1/anything", headers=AUTH)

    assert streamed.status_code == 200
    assert b"data:" in events
    assert streamed.headers["connection"] == "close"  # no length: the end of the body is the end
    assert after.status_code == 404
    first, second = ports
    assert first != second
