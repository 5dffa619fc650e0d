"""The image links of a live `make run` stack load, on a port other than 8000 and by another
host name.

The web server and the worker start as the Makefile's run target starts them (its honcho
command, read from ``make --dry-run``) on a free port, with PUBLIC_BASE_URL unset and one host
name added to DJANGO_ALLOWED_HOSTS. A generation on the demo renderer is created through the API;
then every link in the API reply, an event stream and the webhook (built by the worker, which
answers no request) is fetched and must give the image.
"""

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from accounts.services.keys import api_key_create
from tests.conftest import funded_user
from tests.security.loopback import Reply, loopback_server

from .conftest import (
    PROJECT_ROOT,
    free_port,
    process_environment,
    process_log,
    stop_shared_worker,
    worker_log,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

OTHER_HOST = "studio.lan"
IMAGE_SIGNATURES = (b"\x89PNG", b"\xff\xd8\xff")


def make_run_command(port: int) -> str:
    """The command `make run PORT=<port>` starts the processes with, for this interpreter's
    virtualenv (the steps before it, migrate and bootstrap, are the test's fixtures)."""
    if shutil.which("make") is None:
        pytest.skip("needs make")
    venv = Path(sys.executable).parent.parent
    dry_run = subprocess.run(
        ["make", "--no-print-directory", "--dry-run", "run", f"PORT={port}", f"VENV={venv}"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    commands = dry_run.stdout.replace("\\\n", " ").splitlines()
    [honcho] = [command for command in commands if "/honcho " in command]
    # `exec env`: the shell becomes honcho, so stopping it stops what it started (honcho waits
    # for its processes). The web server and the worker only; beat has nothing to do here.
    return f"exec env {honcho} web worker"


@contextlib.contextmanager
def make_run_stack(port: int, extra_env: dict[str, str]):
    stop_shared_worker()  # the stack's own worker takes the tasks
    log = process_log("make-run")
    environment = process_environment(extra_env)
    environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment['PATH']}"
    stack = subprocess.Popen(
        ["sh", "-c", make_run_command(port)],
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    stack.log_path = log.name  # type: ignore[attr-defined]
    try:
        deadline = time.monotonic() + 30
        while True:
            if stack.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("the stack did not start:\n" + worker_log(stack))
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
                break
            time.sleep(0.2)
        yield stack
    finally:
        # Honcho stops the web server and the worker, and exits once they have: a worker left
        # running would take the next test's tasks.
        stack.terminate()
        try:
            stack.wait(timeout=20)
        except subprocess.TimeoutExpired:
            stack.kill()
            stack.wait()


def fetched_image(client: httpx.Client, link: str, *, host: str) -> bytes:
    """GET ``link`` as a client that resolves ``host`` to this machine would."""
    split = urlsplit(link)
    assert split.netloc == host, link
    response = client.get(f"{split.path}?{split.query}", headers={"Host": host})
    assert response.status_code == 200, (link, response.text[:200])
    assert response.headers["content-type"].startswith("image/")
    assert response.content.startswith(IMAGE_SIGNATURES)
    return response.content


def output_links(outputs: list[dict]) -> list[str]:
    return [link for output in outputs for link in (output["url"], output["thumbnail_url"])]


def test_links_load_on_the_port_and_host_name_the_client_used(local_account):
    port = free_port()
    while port == 8000:
        port = free_port()
    key = api_key_create(user=funded_user(10_000), name="links").key
    with loopback_server() as receiver:
        receiver.routes["/hook"] = Reply(status=204)
        environment = {
            "PUBLIC_BASE_URL": "",  # unset, whatever a .env file says
            "DJANGO_ALLOWED_HOSTS": f"127.0.0.1,localhost,[::1],{OTHER_HOST}",
            "FETCH_ALLOW_PRIVATE_HOSTS": "localhost",
        }
        with (
            make_run_stack(port, environment) as stack,
            httpx.Client(
                base_url=f"http://127.0.0.1:{port}",
                headers={"Authorization": f"Bearer {key}"},
                timeout=20,
            ) as client,
        ):
            try:
                here = f"127.0.0.1:{port}"
                created = client.post(
                    "/api/v1/generations",
                    json={
                        "model": "seedream-4.0",
                        "prompt": "a lantern on a jetty",
                        "size": "1K",
                        "num_images": 2,
                        "webhook_url": receiver.url("/hook"),
                    },
                )
                assert created.status_code == 201, created.text
                generation_url = f"/api/v1/generations/{created.json()['id']}"
                reply = client.get(generation_url, params={"wait": 15}).json()
                assert reply["status"] == "succeeded", reply
                links = output_links(reply["outputs"])
                assert len(links) == 4
                for link in links:
                    fetched_image(client, link, host=here)

                # By another host name the server answers to: links on that name.
                there = f"{OTHER_HOST}:{port}"
                reply = client.get(generation_url, headers={"Host": there}).json()
                for link in output_links(reply["outputs"]):
                    fetched_image(client, link, host=there)
                events = client.get(
                    f"{generation_url}/events",
                    headers={"Host": there, "Accept": "text/event-stream"},
                ).text
                streamed = [
                    json.loads(line.removeprefix("data: "))
                    for block in events.split("\n\n")
                    if "event: output" in block
                    for line in block.splitlines()
                    if line.startswith("data: ")
                ]
                assert len(streamed) == 2, events
                for link in output_links(streamed):
                    fetched_image(client, link, host=there)

                # Forwarded headers from a proxy nobody said to trust change nothing.
                forged = client.get(
                    generation_url,
                    headers={"X-Forwarded-Host": there, "X-Forwarded-Proto": "https"},
                ).json()
                assert all(
                    link.startswith(f"http://{here}/") for link in output_links(forged["outputs"])
                ), forged["outputs"]

                # The webhook, built by the worker, which answers no request: PUBLIC_BASE_URL
                # unset means `make run`'s own web server.
                deadline = time.monotonic() + 10
                while not receiver.requests and time.monotonic() < deadline:
                    time.sleep(0.1)
                [delivery] = receiver.requests
                hooked = json.loads(delivery.body)["data"]["outputs"]
                assert len(hooked) == 2
                for output in hooked:
                    fetched_image(client, output["url"], host=here)
            except BaseException:
                print(worker_log(stack))
                raise
