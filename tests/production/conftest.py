"""A real S3 protocol server on loopback (moto), and a settings module run in a subprocess."""

import os
import re
import runpy
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from django.conf import settings
from django.test import override_settings
from moto.server import ThreadedMotoServer

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SETTINGS_FILE = PROJECT_ROOT / "seedream_site" / "settings.py"
BUCKET = "seedream-test-media"
S3_ACCESS_KEY = "test-access-key"
S3_SECRET_KEY = "test-secret-key-0123456789"
S3_REGION = "eu-west-1"


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's standalone server on a free loopback port, with the test bucket created."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    s3_client(endpoint).create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": S3_REGION}
    )
    yield endpoint
    server.stop()


def s3_client(endpoint: str) -> Any:  # boto3 builds its client classes at run time
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=S3_REGION,
        aws_access_key_id=S3_ACCESS_KEY,
        aws_secret_access_key=S3_SECRET_KEY,
    )


def load_settings(environment: dict[str, str]) -> dict[str, Any]:
    """The settings module's names, executed afresh with exactly ``environment`` (plus the
    tests' var/ folder): what a process started with that environment would get."""
    with pytest.MonkeyPatch.context() as patch:
        # Nothing from the developer's shell (or CI's DATABASE_URL) stands in for a value.
        for name in settings_variables():
            patch.delenv(name, raising=False)
        patch.setenv("VAR_DIR", str(settings.VAR_DIR))
        for name, value in environment.items():
            patch.setenv(name, value)
        return runpy.run_path(str(SETTINGS_FILE))


def s3_environment(endpoint: str) -> dict[str, str]:
    return {
        "STORAGE_BACKEND": "s3",
        "AWS_STORAGE_BUCKET_NAME": BUCKET,
        "AWS_S3_ENDPOINT_URL": endpoint,
        "AWS_S3_REGION_NAME": S3_REGION,
        "AWS_ACCESS_KEY_ID": S3_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": S3_SECRET_KEY,
    }


@pytest.fixture
def s3_storage(s3_endpoint: str, _clean_media: None) -> Iterator[str]:
    """The default storage switched to S3 on the moto server, configured exactly as the
    settings module configures it from the environment: the path a production process takes.

    Depends on ``_clean_media`` so it is undone first (that fixture checks its own folder).
    """
    default = load_settings(s3_environment(s3_endpoint))["STORAGES"]["default"]
    assert default["BACKEND"] == "storages.backends.s3.S3Storage"
    with override_settings(STORAGES={**settings.STORAGES, "default": default}):
        yield s3_endpoint


def run_settings(
    environment: dict[str, str], code: str = "", *, settings_module: str = "seedream_site.settings"
) -> subprocess.CompletedProcess[str]:
    """Import the settings (and ``django.setup()``) in a fresh interpreter, then run ``code``."""
    script = f"import json, django\nfrom django.conf import settings\ndjango.setup()\n{code}\n"
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        env=clean_environment(environment, settings_module=settings_module),
        capture_output=True,
        text=True,
        timeout=60,
    )


def run_manage(environment: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=PROJECT_ROOT,
        env=clean_environment(environment),
        capture_output=True,
        text=True,
        timeout=120,
    )


def settings_variables() -> set[str]:
    """Every environment variable the settings module reads (``env.<type>("NAME", …)``)."""
    return set(re.findall(r"\benv(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]*)\"", SETTINGS_FILE.read_text()))


def clean_environment(
    environment: dict[str, str], *, settings_module: str = "seedream_site.settings"
) -> dict[str, str]:
    variables = settings_variables()
    base = {name: value for name, value in os.environ.items() if name not in variables}
    return {
        **base,
        # Empty counts as unset, and beats a value a .env file would supply.
        **dict.fromkeys(variables, ""),
        # Apart from the tests' own var/ folder: a subprocess may write a secret key there.
        "VAR_DIR": str(settings.VAR_DIR),
        "DJANGO_SETTINGS_MODULE": settings_module,
        **environment,
    }
