"""The Procfile's processes, started the way a deploy starts them, serve a generation end to end.

Docker does not run here, so this is the image short of building it: each Procfile line runs
through ``bash -c`` (a Procfile runner, like the image's ``sh -c``, hands the line to a shell,
which expands ``${PORT:-8000}``) in the environment a container gets: the Dockerfile's ENV, then
docker-compose.yml's ``x-app`` environment as compose resolves it from a .env. Only the host
names change: a fresh database on this machine's PostgreSQL, two Redis databases of the test's
own, and moto's S3 server standing in for MinIO. Teammate, key, credits and provider account
are made with the README's management commands, run as subprocesses in the same environment;
the provider is an emulator in its own process. Every process writes to a log file, whose tail
is in every failure message: on CI that is all there is to read.
"""

import contextlib
import io
import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import psycopg
import pytest
import redis
import yaml
from cryptography.fernet import Fernet
from django.db import connection
from PIL import Image

from tests.services import require_postgresql, require_redis

from .conftest import (
    BUCKET,
    PROJECT_ROOT,
    S3_ACCESS_KEY,
    S3_REGION,
    S3_SECRET_KEY,
    clean_environment,
)

pytestmark = [pytest.mark.services, pytest.mark.worker]

# Redis databases of this test alone, so it never takes (or empties) another test's queue.
BROKER_DB = 11
CACHE_DB = 12
TEAMMATE = "alice"
CREDITS = 1_000
MODEL = "seedream-4.0"
COMMAND_TIMEOUT_S = 60.0
WEB_START_TIMEOUT_S = 30.0
GENERATION_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
LOG_TAIL_CHARS = 2_000
COMPOSE_VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?::(?P<operator>[-?])(?P<argument>[^}]*))?\}")


def procfile_commands() -> dict[str, str]:
    """The Procfile's lines as written, for a shell to run (``test_process_model.procfile()``
    splits them into words, which would leave ``${PORT:-8000}`` unexpanded)."""
    lines = (PROJECT_ROOT / "Procfile").read_text().splitlines()
    return {
        name: command
        for name, _, command in (line.partition(": ") for line in lines if line.strip())
    }


def image_environment() -> dict[str, str]:
    """The Dockerfile's ENV: what every container of the image starts with."""
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    words = [
        word
        for line in dockerfile.splitlines()
        if line.startswith("ENV ")
        for word in shlex.split(line)[1:]
    ]
    return {name: value for name, _, value in (word.partition("=") for word in words)}


def compose_app_environment(dotenv: dict[str, str]) -> dict[str, str]:
    """docker-compose.yml's ``x-app`` environment as compose resolves it with ``dotenv`` in
    .env: ``${NAME:-default}``, and ``${NAME:?message}`` for what .env must hold."""
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())

    def resolve(match: re.Match[str]) -> str:
        value = dotenv.get(match["name"], "")
        if not value and match["operator"] == "?":
            raise AssertionError(f"docker-compose.yml refuses to start: {match['argument']}")
        return value or (match["argument"] if match["operator"] == "-" else "")

    return {
        name: COMPOSE_VARIABLE.sub(resolve, str(value))
        for name, value in compose["x-app"]["environment"].items()
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Stack:
    """The processes of one installation, each writing to its own log file in ``log_dir``."""

    # Out of the repr pytest prints for a failure: the environment holds secrets.
    environment: dict[str, str] = field(repr=False)
    log_dir: Path
    base_url: str
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict, repr=False)

    def start(self, name: str, command: list[str]) -> None:
        """A long-running process, in a session of its own so that a kill reaches its children
        too (gunicorn's workers)."""
        with open(self.log_dir / f"{name}.log", "wb") as log:
            self.processes[name] = subprocess.Popen(
                command,
                cwd=PROJECT_ROOT,
                env=self.environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def run(self, name: str, command: list[str], **extra_environment: str) -> str:
        """A one-shot command, to its end; it must succeed. Answers its standard output."""
        stdout_path = self.log_dir / f"{name}.stdout.log"
        with open(stdout_path, "wb") as stdout, open(self.log_dir / f"{name}.log", "wb") as log:
            try:
                completed = subprocess.run(
                    command,
                    cwd=PROJECT_ROOT,
                    env={**self.environment, **extra_environment},
                    stdout=stdout,
                    stderr=log,
                    timeout=COMMAND_TIMEOUT_S,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise AssertionError(
                    f"{name} did not finish in {COMMAND_TIMEOUT_S:.0f} s\n{self.logs()}"
                ) from None
        assert completed.returncode == 0, f"{name} exited {completed.returncode}\n{self.logs()}"
        return stdout_path.read_text()

    def manage(self, name: str, *arguments: str, **extra_environment: str) -> str:
        return self.run(name, [sys.executable, "manage.py", *arguments], **extra_environment)

    def expect_running(self) -> None:
        for name, process in self.processes.items():
            assert process.poll() is None, f"{name} exited with {process.returncode}\n{self.logs()}"

    def logs(self) -> str:
        """The end of every log, oldest first."""
        paths = sorted(self.log_dir.glob("*.log"), key=lambda path: path.stat().st_mtime)
        paths = [path for path in paths if path.stat().st_size]
        return "\n".join(
            f"--- {path.name} ---\n{path.read_text(errors='replace')[-LOG_TAIL_CHARS:]}"
            for path in paths
        )

    def stop(self) -> None:
        """SIGTERM to each process, as an orchestrator stops a container (``bash -c`` runs a
        single command in place, so that is gunicorn's or celery's main process); then
        SIGKILL to the whole group of one still there after ``STOP_TIMEOUT_S``, and to
        whatever a process that did exit left behind."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            with contextlib.suppress(ProcessLookupError):  # the whole group has exited
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def database_url() -> Iterator[str]:
    """A fresh database on the test run's PostgreSQL server (DATABASE_URL), dropped after."""
    require_postgresql()
    server = connection.settings_dict
    host, port = server["HOST"] or "127.0.0.1", server["PORT"] or 5432
    user, password = server["USER"] or "", server["PASSWORD"] or ""
    name = f"seedream_procfile_{secrets.token_hex(4)}"
    admin: dict[str, Any] = {"host": host, "port": port, "user": user, "dbname": "postgres"}
    if password:
        admin["password"] = password
    with psycopg.connect(**admin, autocommit=True) as admin_connection:
        admin_connection.execute(f'CREATE DATABASE "{name}"')
    credentials = quote(user) + (f":{quote(password)}" if password else "")
    yield f"postgres://{credentials}@{host}:{port}/{name}"
    with psycopg.connect(**admin, autocommit=True) as admin_connection:
        admin_connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis_urls() -> Iterator[tuple[str, str]]:
    """The broker's and the cache's URLs on the test run's Redis, emptied before and after."""
    server = urlsplit(require_redis())
    broker, cache = (server._replace(path=f"/{db}").geturl() for db in (BROKER_DB, CACHE_DB))

    def flush() -> None:
        for url in (broker, cache):
            with redis.Redis.from_url(url) as client:
                client.flushdb()

    flush()
    yield broker, cache
    flush()


@pytest.fixture
def stack(
    request: pytest.FixtureRequest,
    database_url: str,
    redis_urls: tuple[str, str],
    tmp_path: Path,
) -> Iterator[Stack]:
    """The environment of the app containers, pointed at this machine; every process started
    through the stack is stopped at the end, whatever happened."""
    # Only once the services are known to be there: a skip starts no S3 server.
    s3_endpoint = request.getfixturevalue("s3_endpoint")
    broker_url, cache_url = redis_urls
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    # What the operator's .env holds (docker-compose.yml's header, README "Production").
    dotenv = {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PUBLIC_BASE_URL": base_url,
        "MINIO_ROOT_USER": S3_ACCESS_KEY,
        "MINIO_ROOT_PASSWORD": S3_SECRET_KEY,
        # Required in production; this test sends no mail, so nothing dials it.
        "EMAIL_URL": "submission://studio:mail-password@127.0.0.1:1",
        # generations/security/credentials.py: Fernet keys, newest first.
        "PROVIDER_CREDENTIALS_KEYS": Fernet.generate_key().decode(),
    }
    image = image_environment()
    compose = compose_app_environment(dotenv)
    # The containers' host names and paths, as they are on this machine.
    hosts = {
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "CACHE_URL": cache_url,
        "AWS_S3_ENDPOINT_URL": s3_endpoint,
        "AWS_STORAGE_BUCKET_NAME": BUCKET,
        "AWS_S3_REGION_NAME": S3_REGION,
    }
    paths = {
        "PYTHONPATH": str(PROJECT_ROOT),
        "VAR_DIR": str(tmp_path / "var"),
        "STATIC_ROOT": str(tmp_path / "staticfiles"),
        "PORT": str(port),
    }
    # Only values the image and compose set are changed, so a variable renamed there fails
    # here instead of leaving this test configured by a name nothing reads.
    assert set(hosts) <= set(compose), set(hosts) - set(compose)
    assert set(paths) <= set(image), set(paths) - set(image)
    environment = {
        **image,
        **compose,
        **hosts,
        **paths,
        "WEB_CONCURRENCY": "1",
        # The image's `python`, `gunicorn` and `celery` are those of this virtualenv.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    running = Stack(clean_environment(environment), log_dir, base_url)
    try:
        yield running
    finally:
        running.stop()


def start_emulator(stack: Stack) -> tuple[str, str]:
    """The Ark emulator in its own process; answers its base URL and API key."""
    stack.start("emulator", [sys.executable, "-m", "tests.emulators.serve", "ark"])
    log = stack.log_dir / "emulator.log"
    deadline = time.monotonic() + COMMAND_TIMEOUT_S
    while time.monotonic() < deadline:
        stack.expect_running()
        ready = [line.split() for line in log.read_text().splitlines() if line.startswith("READY")]
        if ready:
            _, base_url, api_key = ready[0]
            return base_url, api_key
        time.sleep(0.1)
    raise AssertionError(f"the emulator did not print READY\n{stack.logs()}")


def wait_for_web(stack: Stack, client: httpx.Client) -> httpx.Response:
    deadline = time.monotonic() + WEB_START_TIMEOUT_S
    while True:
        stack.expect_running()
        try:
            return client.get("/healthz")
        except httpx.TransportError as error:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"web did not answer in {WEB_START_TIMEOUT_S:.0f} s: {error!r}\n{stack.logs()}"
                ) from error
            time.sleep(0.2)


def wait_for_generation(stack: Stack, client: httpx.Client, generation_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + GENERATION_TIMEOUT_S
    while True:
        stack.expect_running()
        # Long-polls: answered at the finish (or after 5 s), through the web process's waiter.
        response = client.get(f"/api/v1/generations/{generation_id}", params={"wait": 5})
        assert response.status_code == 200, f"{response.text}\n{stack.logs()}"
        generation: dict[str, Any] = response.json()
        if generation["status"] not in ("queued", "running"):
            return generation
        if time.monotonic() > deadline:
            raise AssertionError(
                f"generation {generation_id} still {generation['status']} after "
                f"{GENERATION_TIMEOUT_S:.0f} s\n{stack.logs()}"
            )


def set_up_as_documented(stack: Stack, emulator_url: str, emulator_key: str) -> str:
    """A teammate with credits and an API key, and a provider account, made with the README's
    commands in the containers' environment; answers the API key. The teammate is made with
    ``createsuperuser``, the only command the README gives (its Docker Compose section)."""
    stack.manage(
        "createsuperuser",
        *("createsuperuser", "--noinput", "--username", TEAMMATE, "--email", "a@example.com"),
        DJANGO_SUPERUSER_PASSWORD=secrets.token_urlsafe(16),
    )
    stack.manage("grant_credits", "grant_credits", TEAMMATE, str(CREDITS), "--memo", "test")
    # "prints the key once", alone on the last line (README: `| tail -n 1`).
    api_key = stack.manage("create_api_key", "create_api_key", TEAMMATE, "--name", "stack")
    stack.manage(
        "provider_account_add",
        *("provider_account", "add", "--kind", "ark", "--label", "Ark emulator"),
        *("--base-url", f"{emulator_url}/api/v3", "--models", MODEL, "--api-key-env", "ARK_KEY"),
        ARK_KEY=emulator_key,
    )
    checked = stack.manage("provider_account_check", "provider_account", "check", "Ark emulator")
    assert "OK" in checked, checked
    return api_key.splitlines()[-1]


def test_the_procfile_processes_serve_a_generation_end_to_end(stack: Stack) -> None:
    commands = procfile_commands()
    emulator_url, emulator_key = start_emulator(stack)
    # The image's build step, which the web process's hashed static names rely on.
    stack.manage("collectstatic", "collectstatic", "--noinput", "--verbosity", "0")
    stack.run("release", ["bash", "-c", commands["release"]])
    for name in ("web", "worker", "beat"):
        stack.start(name, ["bash", "-c", commands[name]])
    # While they start: the setup the README documents.
    api_key = set_up_as_documented(stack, emulator_url, emulator_key)

    headers = {"Authorization": f"Bearer {api_key}"}
    with httpx.Client(base_url=stack.base_url, headers=headers, timeout=15) as client:
        health = wait_for_web(stack, client)
        assert health.status_code == 200, f"{health.text}\n{stack.logs()}"
        assert health.json()["status"] == "ok", health.text
        checks = health.json()["checks"]
        assert {name: check["ok"] for name, check in checks.items()} == {
            "database": True,
            "broker": True,
            "storage": True,
        }, health.text

        # A page, with its stylesheet under the hashed name collectstatic gave it.
        login = client.get("/login/")
        assert login.status_code == 200, f"{login.text[:500]}\n{stack.logs()}"
        stylesheet = re.search(r'href="(/static/css/studio\.[0-9a-f]{12}\.css)"', login.text)
        assert stylesheet, login.text[:2000]
        assert client.get(stylesheet[1]).status_code == 200

        created = client.post(
            "/api/v1/generations",
            json={"model": MODEL, "prompt": "a lighthouse at dusk", "size": "1K"},
        )
        assert created.status_code == 201, f"{created.text}\n{stack.logs()}"
        generation = wait_for_generation(stack, client, created.json()["id"])
        assert generation["status"] == "succeeded", f"{generation}\n{stack.logs()}"
        assert [
            (attempt["provider_kind"], attempt["outcome"]) for attempt in generation["attempts"]
        ] == [("ark", "succeeded")], generation
        [output] = generation["outputs"]
        balance = client.get("/api/v1/me").json()["balance"]

    # A presigned link to the bucket: no session, no credentials, straight from S3.
    assert output["url"].startswith(stack.environment["AWS_S3_ENDPOINT_URL"]), output
    download = httpx.get(output["url"], timeout=15)
    assert download.status_code == 200, download.text[:500]
    image = Image.open(io.BytesIO(download.content))
    image.load()
    assert image.size == (output["width"], output["height"]) == (1024, 1024)

    assert generation["credits_charged"] == generation["price_per_image"] > 0, generation
    assert balance == {"available": CREDITS - generation["credits_charged"], "held": 0}
    ledger = stack.manage("check_ledger", "check_ledger")
    assert "Ledger OK" in ledger, ledger
    # Beat ran throughout, with its schedule in VAR_DIR (the image's only writable folder).
    stack.expect_running()
    assert list(Path(stack.environment["VAR_DIR"]).glob("celerybeat-schedule*")), stack.logs()
