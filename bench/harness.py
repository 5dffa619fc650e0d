"""What every benchmark sets up: a throwaway installation, a funded user, a provider account."""

import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def django_ready(prefix: str, **extra_env: str) -> Path:
    """Point the platform at a fresh folder (and DATABASE_URL / CELERY_BROKER_URL if set),
    migrate, and return the folder. Child processes inherit the same environment."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ.update(
        VAR_DIR=str(workdir),
        MEDIA_ROOT=str(workdir / "media"),
        BROKER_DIR=str(workdir / "broker"),
        DJANGO_SETTINGS_MODULE="seedream_site.settings",
        **extra_env,
    )
    sys.path.insert(0, str(PROJECT_ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return workdir


def funded_user(name: str) -> tuple[Any, str]:
    """A user with a large budget and an API key; returns (user, key). A database named by
    DATABASE_URL may hold earlier runs, so names carry a random suffix."""
    from accounts.models import User
    from accounts.services.credits import credits_grant
    from accounts.services.keys import api_key_create

    user = User.objects.create_user(username=f"{name}-{os.urandom(4).hex()}")
    credits_grant(user=user, amount=1_000_000_000, actor=None, memo="benchmark budget")
    return user, api_key_create(user=user, name="benchmark").key


def only_account(*, kind: str, base_url: str, api_key: str, model: str, **fields: Any) -> None:
    """Make this the only enabled provider account (earlier runs' accounts are switched off)."""
    from generations.models import ProviderAccount
    from generations.security.credentials import credential_encrypt

    ProviderAccount.objects.update(enabled=False)
    ProviderAccount.objects.create(
        kind=kind,
        label=f"bench {kind} {os.urandom(4).hex()}",
        base_url=base_url,
        credentials_encrypted=credential_encrypt(api_key) if api_key else "",
        models_served=[model],
        **fields,
    )


def wall_figures(*, n: int, latency_s: float, walls: list[float]) -> dict[str, Any]:
    """The figures every wall-per-latency benchmark reports: the median round's wall, its
    ratio to the provider latency (1 = all N in flight at once), and every round's wall."""
    wall = statistics.median(walls)
    return {
        "n": n,
        "latency_s": latency_s,
        "wall_s": round(wall, 3),
        "ratio": round(wall / latency_s, 3),
        "rounds_wall_s": [round(value, 3) for value in walls],
    }
