"""Both API descriptions against a live server: schemathesis' examples, coverage, fuzzing and
stateful phases with every check, on the ASGI server and a real worker (demo renderer).

Any 5xx, any response that does not match its schema (status, content type, body, headers),
any schema-violating request accepted and any schema-valid request refused fails the test.
Where a schema cannot say what the server checks (a model's sizes, an image's bytes, an opaque
cursor), the settings files beside this test widen the accepted statuses of one check for one
operation, each with its reason.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from accounts.services.keys import api_key_create
from tests.conftest import funded_user
from tests.services import require_postgresql

from .conftest import start_web_server, start_worker, stop_web_server, stop_worker, worker_log

pytestmark = [pytest.mark.services, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SETTINGS = Path(__file__).parent / "schemathesis"
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
# Per operation and phase; the same examples every run (fixed seed).
EXAMPLES = 25
SEED = "20261203"


def schemathesis_run(schema_url: str, settings_file: Path, key: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            str(SCHEMATHESIS),
            "--config-file",
            str(settings_file),
            "run",
            schema_url,
            "--header",
            f"Authorization: Bearer {key}",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--checks",
            "all",
            "--max-examples",
            str(EXAMPLES),
            "--seed",
            SEED,
            "--max-failures",
            "50",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.parametrize(
    ("schema_path", "settings_file"),
    [("/api/schema/", "native.toml"), ("/api/schema/openai/", "openai.toml")],
    ids=["native", "openai"],
)
def test_live_server_keeps_its_api_description(local_account, schema_path, settings_file, capsys):
    require_postgresql()
    key = api_key_create(user=funded_user(10**9), name="contract").key
    worker = start_worker()
    # Rate limits are not what this run is about; everything else as in production.
    web, base_url = start_web_server(
        {"API_RATE_PER_KEY": "100000/min", "API_RATE_PER_USER": "100000/min"}
    )
    try:
        result = schemathesis_run(f"{base_url}{schema_path}", SETTINGS / settings_file, key)
    finally:
        stop_web_server(web)
        stop_worker(worker)
    report = result.stdout[-20000:] + result.stderr[-4000:]
    assert result.returncode == 0, report + "\n--- web server log ---\n" + worker_log(web)
    with capsys.disabled():
        summary = [line for line in result.stdout.splitlines() if "generated" in line]
        print(f"\nschemathesis {schema_path}: {summary[-1].strip() if summary else '?'}")
    # Every phase ran and the stateful one followed the links between operations.
    for phase in ("Coverage", "Fuzzing"):
        assert f"✅ {phase}" in result.stdout, report
    if schema_path == "/api/schema/":
        assert "✅ Stateful" in result.stdout, report
