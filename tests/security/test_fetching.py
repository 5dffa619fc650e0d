"""SSRF: nothing a user supplies makes the server fetch a private address (DESIGN.md §8.5)."""

import contextlib
import datetime
import ipaddress
import socket
import ssl
import threading

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from generations.security import fetching
from generations.security.fetching import (
    FetchFailed,
    FetchRefused,
    address_refusal,
    reference_fetch,
    url_vet,
    webhook_post,
)
from seedream_site import settings as base_settings
from tests.conftest import make_png
from tests.security.loopback import Reply, loopback_server

PNG = make_png()


@pytest.fixture
def server(settings):
    """A loopback image server reachable as ``localhost`` only (127.0.0.1 stays refused)."""
    settings.FETCH_ALLOW_PRIVATE_HOSTS = ["localhost"]
    with loopback_server() as running:
        yield running


@pytest.fixture
def no_connections(monkeypatch):
    """Fail the test if anything tries to send a request: refusals happen before connecting."""

    def refuse(*args, **kwargs):
        raise AssertionError("a refused URL must not be connected to")

    monkeypatch.setattr(httpx.Client, "send", refuse)


def fake_dns(monkeypatch, answers: dict[str, list[str]]) -> list[str]:
    """Make getaddrinfo answer from ``answers``; returns the list of names looked up."""
    looked_up: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        try:
            ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            # Connecting to a pinned IP "resolves" the literal; that is not a DNS lookup.
            return real_getaddrinfo(host, port, *args, **kwargs)
        looked_up.append(host)
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (
                socket.AF_INET6 if ":" in address else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (address, port, 0, 0) if ":" in address else (address, port),
            )
            for address in answers[host]
        ]

    monkeypatch.setattr(fetching.socket, "getaddrinfo", getaddrinfo)
    return looked_up


def test_no_host_is_allowed_private_by_default(settings):
    assert base_settings.FETCH_ALLOW_PRIVATE_HOSTS == []
    assert settings.FETCH_ALLOW_PRIVATE_HOSTS == []


# --- address rules ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/", "loopback"),
        ("http://127.8.9.10:6379/", "loopback"),
        ("http://localhost:8000/admin/", "loopback"),
        ("http://10.0.0.7/", "private"),
        ("http://172.16.3.4/", "private"),
        ("http://192.168.1.1/", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://100.64.0.1/", "shared"),
        ("http://0.0.0.0:8000/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://240.0.0.1/", "reserved"),
        ("http://[::1]/", "loopback"),
        ("http://[::]/", "unspecified"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://[::ffff:a9fe:a9fe]/", "link-local"),
        ("http://[fc00::1]/", "private"),
        ("http://[fd12:3456::1]/", "private"),
        ("http://[fe80::1]/", "link-local"),
        ("http://[ff02::1]/", "multicast"),
        ("http://[2002:7f00:1::]/", "loopback"),  # 6to4 wrapping 127.0.0.1
        ("http://[64:ff9b::a00:1]/", "private"),  # NAT64 wrapping 10.0.0.1
        ("http://2130706433/", "loopback"),  # 127.0.0.1 as one decimal number
        # Not public, though Python's is_global says they are:
        ("http://192.0.0.8/", "IETF protocol assignments"),
        ("http://192.88.99.1/", "6to4 relay anycast"),
        ("http://[fec0::1]/", "site-local"),
        ("http://[3fff::1]/", "documentation"),
    ],
)
def test_private_addresses_are_refused_before_connecting(url, reason, no_connections):
    for call in (reference_fetch, url_vet):
        with pytest.raises(FetchRefused) as refused:
            call(url)
        assert refused.value.code == "private_address"
        assert reason in str(refused.value)
        assert "reachable from the internet" in str(refused.value)


@pytest.mark.parametrize(
    "address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"]
)
def test_public_addresses_pass(address):
    assert address_refusal(fetching._unwrap(ipaddress.ip_address(address))) is None


def test_a_name_with_one_private_address_among_public_ones_is_refused(monkeypatch, no_connections):
    fake_dns(monkeypatch, {"mixed.example": ["93.184.215.14", "10.1.2.3", "2606:4700::1"]})
    with pytest.raises(FetchRefused) as refused:
        reference_fetch("https://mixed.example/cat.png")
    assert refused.value.code == "private_address"
    assert "10.1.2.3" in str(refused.value)


def test_a_name_resolving_to_ipv4_mapped_loopback_is_refused(monkeypatch, no_connections):
    fake_dns(monkeypatch, {"sneaky.example": ["::ffff:127.0.0.1"]})
    with pytest.raises(FetchRefused, match="loopback"):
        url_vet("https://sneaky.example/hook")


def test_an_unresolvable_name_is_refused(monkeypatch, no_connections):
    fake_dns(monkeypatch, {})
    with pytest.raises(FetchFailed) as refused:
        reference_fetch("https://no-such-host.example/cat.png")
    assert refused.value.code == "unresolvable"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/cat.png",
        "file:///etc/passwd",
        "gopher://example.com/",
        "javascript:alert(1)",
        "//example.com/cat.png",
    ],
)
def test_only_http_and_https_are_fetched(url, no_connections):
    with pytest.raises(FetchRefused) as refused:
        reference_fetch(url)
    assert refused.value.code in ("scheme_not_allowed", "invalid_url")
    assert "https://" in str(refused.value)


# --- pinning ----------------------------------------------------------------------------------


def test_connects_to_the_vetted_address_with_the_original_host_header(
    server, settings, monkeypatch
):
    """One DNS lookup per hop: the connection goes to the address that was checked, so a
    second answer (DNS rebinding) never gets a say; the Host header stays the URL's."""
    settings.FETCH_ALLOW_PRIVATE_HOSTS = ["images.test"]
    looked_up = fake_dns(monkeypatch, {"images.test": ["127.0.0.1"]})
    server.routes["/cat.png"] = Reply(headers={"Content-Type": "image/png"}, body=PNG)

    assert reference_fetch(f"http://images.test:{server.port}/cat.png") == PNG
    assert looked_up == ["images.test"]
    assert server.requests[0].headers["host"] == f"images.test:{server.port}"


def test_the_next_vetted_address_is_tried_when_one_refuses_connections(
    server, settings, monkeypatch
):
    settings.FETCH_ALLOW_PRIVATE_HOSTS = ["images.test"]
    # Nothing listens on 127.0.0.2 at this port; the server does on 127.0.0.1.
    fake_dns(monkeypatch, {"images.test": ["127.0.0.2", "127.0.0.1"]})
    server.routes["/cat.png"] = Reply(headers={"Content-Type": "image/png"}, body=PNG)
    assert reference_fetch(f"http://images.test:{server.port}/cat.png") == PNG


# --- redirects --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    ["http://127.0.0.1:{port}/cat.png", "http://169.254.169.254/latest/meta-data/"],
)
def test_a_redirect_to_a_private_address_is_refused(server, target):
    server.routes["/go"] = Reply(status=302, headers={"Location": target.format(port=server.port)})
    server.routes["/cat.png"] = Reply(headers={"Content-Type": "image/png"}, body=PNG)

    with pytest.raises(FetchRefused) as refused:
        reference_fetch(server.url("/go"))
    assert refused.value.code == "private_address"
    assert [request.path for request in server.requests] == ["/go"]


def test_redirects_between_allowed_hosts_are_followed_up_to_the_limit(server):
    server.routes["/1"] = Reply(status=301, headers={"Location": "/2"})
    server.routes["/2"] = Reply(status=307, headers={"Location": server.url("/3")})
    server.routes["/3"] = Reply(status=308, headers={"Location": "/cat.png"})
    server.routes["/cat.png"] = Reply(headers={"Content-Type": "image/png"}, body=PNG)
    assert reference_fetch(server.url("/1")) == PNG

    server.routes["/0"] = Reply(status=302, headers={"Location": "/1"})
    with pytest.raises(FetchRefused) as refused:
        reference_fetch(server.url("/0"))
    assert refused.value.code == "too_many_redirects"


def test_a_redirect_to_another_scheme_is_refused(server):
    server.routes["/go"] = Reply(status=302, headers={"Location": "file:///etc/passwd"})
    with pytest.raises(FetchRefused) as refused:
        reference_fetch(server.url("/go"))
    assert refused.value.code == "scheme_not_allowed"


# --- what comes back --------------------------------------------------------------------------


def test_a_good_image_is_fetched(server):
    server.routes["/cat.png"] = Reply(headers={"Content-Type": "image/png"}, body=PNG)
    assert reference_fetch(server.url("/cat.png")) == PNG
    assert server.requests[0].headers["accept"] == "image/*"


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "streamed"])
def test_a_body_over_the_cap_is_refused(server, settings, declared):
    settings.REFERENCE_MAX_BYTES = 1000
    big = PNG + b"\0" * 5000
    server.routes["/big.png"] = Reply(
        headers={"Content-Type": "image/png"}, body=big, content_length=declared
    )
    with pytest.raises(FetchRefused) as refused:
        reference_fetch(server.url("/big.png"))
    assert refused.value.code == "too_large"


def test_a_non_image_content_type_is_refused(server):
    server.routes["/page"] = Reply(headers={"Content-Type": "text/html"}, body=b"<h1>hi</h1>")
    with pytest.raises(FetchRefused) as refused:
        reference_fetch(server.url("/page"))
    assert refused.value.code == "not_an_image"
    assert "text/html" in str(refused.value)


@pytest.mark.parametrize(
    "body", [b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", b"#!/bin/sh\necho hi\n", b"GIF"]
)
def test_non_image_bytes_with_an_image_content_type_are_refused(server, body):
    server.routes["/fake.png"] = Reply(headers={"Content-Type": "image/png"}, body=body)
    with pytest.raises(FetchRefused) as refused:
        reference_fetch(server.url("/fake.png"))
    assert refused.value.code == "not_an_image"


def test_an_http_error_names_the_status(server):
    with pytest.raises(FetchFailed) as failed:
        reference_fetch(server.url("/missing.png"))
    assert failed.value.code == "http_error"
    assert "404" in str(failed.value)


def test_a_slow_server_times_out(server, monkeypatch):
    monkeypatch.setattr(fetching, "FETCH_READ_TIMEOUT_S", 0.2)
    server.routes["/slow.png"] = Reply(headers={"Content-Type": "image/png"}, body=PNG, delay_s=1.0)
    with pytest.raises(FetchFailed) as failed:
        reference_fetch(server.url("/slow.png"))
    assert failed.value.code == "timeout"


def test_a_closed_port_is_unreachable(settings):
    settings.FETCH_ALLOW_PRIVATE_HOSTS = ["localhost"]
    with loopback_server() as gone:
        port = gone.port
    with pytest.raises(FetchFailed) as failed:
        reference_fetch(f"http://localhost:{port}/cat.png")
    assert failed.value.code == "unreachable"


# --- webhook POSTs ----------------------------------------------------------------------------


def test_webhook_post_sends_the_body_and_does_not_follow_redirects(server):
    server.routes["/hook"] = Reply(status=302, headers={"Location": "http://127.0.0.1:1/"})
    result = webhook_post(server.url("/hook"), b'{"a":1}', {"Content-Type": "application/json"})
    assert result.status_code == 302
    assert len(server.requests) == 1
    assert server.requests[0].method == "POST"
    assert server.requests[0].body == b'{"a":1}'


def test_webhook_post_keeps_only_an_excerpt_of_the_answer(server):
    server.routes["/hook"] = Reply(body=b"x" * 100_000)
    result = webhook_post(server.url("/hook"), b"{}", {})
    assert result.status_code == 200
    assert len(result.body_excerpt) <= fetching.WEBHOOK_RESPONSE_READ_BYTES


def test_webhook_post_to_a_private_address_is_refused(no_connections):
    with pytest.raises(FetchRefused) as refused:
        webhook_post("http://192.168.0.10/hook", b"{}", {})
    assert refused.value.code == "private_address"
    assert not isinstance(refused.value, FetchFailed)


def test_https_sends_the_host_name_as_tls_sni_while_connecting_to_the_pinned_ip(
    settings, monkeypatch, tmp_path
):
    """The URL sent to httpx names the IP; the TLS server name (and so the certificate check)
    must still be the host's. A self-signed server records the SNI it was asked for; the
    handshake then fails verification, as it must for an untrusted certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "images.test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("images.test")]), False)
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server_names: list[str | None] = []
    context.sni_callback = lambda _sock, server_name, _context: server_names.append(server_name)

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve_one() -> None:
        connection, _ = listener.accept()
        with contextlib.suppress(ssl.SSLError, OSError):
            context.wrap_socket(connection, server_side=True).close()
        connection.close()

    thread = threading.Thread(target=serve_one, daemon=True)
    thread.start()
    settings.FETCH_ALLOW_PRIVATE_HOSTS = ["images.test"]
    fake_dns(monkeypatch, {"images.test": ["127.0.0.1"]})
    try:
        with pytest.raises(FetchFailed):
            reference_fetch(f"https://images.test:{port}/cat.png")
    finally:
        thread.join(timeout=5)
        listener.close()
    assert server_names == ["images.test"]
