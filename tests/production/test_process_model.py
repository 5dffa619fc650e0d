"""Procfile, Dockerfile and docker-compose.yml, checked by reading them (Docker does not run in
CI): the processes agree, and every variable the containers get is one the settings read."""

import re
import shlex

import pytest
import yaml
from django.utils.module_loading import import_string

from .conftest import PROJECT_ROOT, settings_variables

APP_SERVICES = {"migrate", "web", "worker", "beat"}
PRODUCTION_REQUIRED = {
    "DJANGO_ENV",
    "DJANGO_SECRET_KEY",
    "DJANGO_ALLOWED_HOSTS",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CACHE_URL",
    "EMAIL_URL",
    "AWS_STORAGE_BUCKET_NAME",
}


def documented_variables() -> set[str]:
    lines = (PROJECT_ROOT / ".env.example").read_text().splitlines()
    return {line.split("=", 1)[0] for line in lines if re.match(r"^[A-Z][A-Z0-9_]*=", line)}


def procfile() -> dict[str, list[str]]:
    lines = (PROJECT_ROOT / "Procfile").read_text().splitlines()
    return {
        name: shlex.split(command)
        for name, _, command in (line.partition(": ") for line in lines if line.strip())
    }


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())


def test_settings_read_the_variables_we_think():
    names = settings_variables()
    assert {"DJANGO_ENV", "STORAGE_BACKEND", "AWS_S3_ENDPOINT_URL", "METRICS_TOKEN"} <= names
    assert len(names) > 40


def test_every_variable_the_settings_read_is_documented():
    assert settings_variables() - documented_variables() == set()


def test_compose_has_every_process_and_service(compose):
    assert set(compose["services"]) == APP_SERVICES | {
        "postgres",
        "redis",
        "minio",
        "minio-bucket",
    }


@pytest.mark.parametrize("service", sorted(APP_SERVICES))
def test_app_services_get_only_variables_the_settings_read(compose, service):
    environment = compose["services"][service]["environment"]
    assert set(environment) - settings_variables() == set()
    assert set(environment) >= PRODUCTION_REQUIRED
    assert environment["DJANGO_ENV"] == "production"
    assert compose["services"][service]["image"] == "seedream-studio:latest"


def test_compose_runs_the_procfile_commands(compose):
    processes = procfile()
    services = compose["services"]
    assert services["worker"]["command"] == processes["worker"]
    assert services["beat"]["command"] == processes["beat"]
    assert services["migrate"]["command"] == processes["release"]
    assert "command" not in services["web"]  # the image's command, checked below


def test_procfile_runs_the_asgi_server_and_celery():
    processes = procfile()
    assert set(processes) == {"release", "web", "worker", "beat"}
    web = processes["web"]
    assert web[:2] == ["gunicorn", "seedream_site.asgi:application"]
    worker_class = web[web.index("--worker-class") + 1]
    assert worker_class == "uvicorn_worker.UvicornWorker"
    assert import_string(worker_class)  # installed (a dependency), not only named
    assert processes["worker"][:4] == ["celery", "--app", "seedream_site", "worker"]
    assert processes["beat"][:4] == ["celery", "--app", "seedream_site", "beat"]


def test_dockerfile_builds_a_non_root_image_serving_the_procfile_web_command():
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    instructions = [
        line for line in dockerfile.splitlines() if line and not line.startswith(("#", " "))
    ]
    assert instructions[0] == "FROM python:3.11-slim"
    assert "RUN pip install ." in instructions
    assert re.search(r"STATIC_MANIFEST=true .*manage\.py collectstatic --noinput", dockerfile)
    users = [line for line in instructions if line.startswith("USER ")]
    assert users == ["USER seedream"]
    cmd = next(line for line in instructions if line.startswith("CMD "))
    shell_command = yaml.safe_load(cmd.removeprefix("CMD "))[-1]
    assert shlex.split(shell_command.removeprefix("exec ")) == procfile()["web"]


def test_dockerignore_keeps_secrets_and_local_state_out():
    ignored = (PROJECT_ROOT / ".dockerignore").read_text().splitlines()
    assert {".env", ".venv", "var", ".git"} <= set(ignored)
