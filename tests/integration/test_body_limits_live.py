"""Body limits on a real uvicorn server: huge bodies are refused at once, without filling the
temporary folder, and a real 14-reference edit still goes through."""

import contextlib
import os
import select
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import openai
import pytest

from accounts.services.keys import api_key_create
from generations.models import Generation
from tests.conftest import make_png
from tests.integration.conftest import start_web_server, stop_web_server, worker_log

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

GIB = 1024**3
MIB = 1024**2


def folder_bytes(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        with contextlib.suppress(OSError):  # removed meanwhile
            total += path.stat().st_size
    return total


def post_huge(base_url: str, path: str, *, declared: int, folder: Path) -> tuple[bytes, float, int]:
    """Send headers declaring ``declared`` bytes, then keep sending until the server answers;
    returns the answer's first bytes, the seconds until it came, and the temporary folder's
    peak size meanwhile."""
    address = urlsplit(base_url)
    peak = 0
    done = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, folder_bytes(folder))
            time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    chunk = b"x" * MIB
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
        began = time.monotonic()
        connection.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream"
            f"\r\nContent-Length: {declared}\r\n\r\n".encode()
        )
        sent = 0
        answer = b""
        while sent < declared and time.monotonic() - began < 30:
            readable, _, _ = select.select([connection], [], [], 0)
            if readable:
                break
            try:
                connection.sendall(chunk)
            except OSError:
                break  # the server closed the connection after answering
            sent += len(chunk)
        answer = connection.recv(4096)
        elapsed = time.monotonic() - began
    done.set()
    watcher.join()
    return answer, elapsed, peak


def test_huge_bodies_are_refused_at_once_and_a_real_edit_still_works(
    user, local_account, tmp_path, real_worker
):
    spool = tmp_path / "server-tmp"
    spool.mkdir()
    web, base_url = start_web_server({"TMPDIR": str(spool)})
    try:
        for path, declared in (("/no/such/page/", GIB), ("/v1/images/edits", 100 * MIB)):
            answer, elapsed, peak = post_huge(base_url, path, declared=declared, folder=spool)
            print(
                f"\nbody limit: {declared // MIB} MB to {path}: {answer.split(b' ')[1].decode()} "
                f"in {elapsed:.3f} s, temporary folder peak {peak / MIB:.1f} MB"
            )
            assert answer.startswith(b"HTTP/1.1 413"), answer
            assert elapsed < 1
            assert peak < 16 * MIB

        key = api_key_create(user=user, name="edit").key
        client = openai.OpenAI(base_url=f"{base_url}/v1", api_key=key, timeout=120, max_retries=0)
        result = client.images.edit(
            model="seedream-4.0",
            image=[(f"{n}.png", make_png(color=(n * 10, 40, 90)), "image/png") for n in range(14)],
            prompt="blend all fourteen",
            size="1K",
        )
        assert len(result.data) == 1
        assert Generation.objects.get().references.count() == 14
    except AssertionError:
        print(worker_log(web))
        raise
    finally:
        stop_web_server(web)
    assert os.listdir(spool) == []
