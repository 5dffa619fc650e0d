"""Add, list, check and switch provider accounts from the shell.

Secrets are read from an environment variable named by ``--api-key-env`` or from standard
input (a prompt that does not echo when it is a terminal); never from the command line, where
they would land in shell history and the process list, and never printed.
"""

import getpass
import json
import os
import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from generations.models import ProviderAccount
from generations.providers import ProviderError, get_adapter_class
from generations.services.provider_accounts import (
    ProviderAccountInput,
    ProviderAccountInvalid,
    provider_account_check,
    provider_account_create,
    provider_account_set_enabled,
    provider_account_set_key,
    provider_accounts_rotate_keys,
)


class Command(BaseCommand):
    help = "Manage provider accounts: add, list, check, enable, disable, set-key, rotate-keys."
    # call_command(..., stdin=...) lets tests and scripts hand the key over as a stream.
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        add = actions.add_parser("add", help="add an account")
        add.add_argument("--kind", required=True, help="ark, byteplus, siraya, acedata, local, …")
        add.add_argument("--label", required=True, help="a unique name, e.g. 'BytePlus team'")
        add.add_argument(
            "--base-url", default="", help="the API base URL, or a preset name of the kind"
        )
        add.add_argument("--models", required=True, help="comma-separated catalog model ids")
        add.add_argument(
            "--model-id",
            action="append",
            default=[],
            metavar="CATALOG_ID=PROVIDER_ID",
            help="send PROVIDER_ID for CATALOG_ID (e.g. an Ark endpoint ep-…); repeatable",
        )
        add.add_argument("--priority", type=int, default=100, help="lower is tried first")
        add.add_argument("--watermark", action="store_true", help="ask for the AI watermark")
        add.add_argument(
            "--option",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="an option of the kind's adapter, VALUE read as JSON where it parses "
            "(e.g. prefer_wait_s=3 for replicate); repeatable",
        )
        add.add_argument("--read-timeout", type=float, default=120.0, help="seconds")
        add.add_argument("--connect-timeout", type=float, default=10.0, help="seconds")
        add.add_argument("--disabled", action="store_true", help="add it switched off")
        self._add_key_source(add)

        actions.add_parser("list", help="list accounts (secrets are never shown)")
        for name in ("check", "enable"):
            action = actions.add_parser(name, help=f"{name} an account")
            action.add_argument("label")
        disable = actions.add_parser("disable", help="stop routing to an account")
        disable.add_argument("label")
        disable.add_argument("--reason", default="Disabled from the command line.")
        set_key = actions.add_parser("set-key", help="replace an account's API key")
        set_key.add_argument("label")
        self._add_key_source(set_key)
        actions.add_parser("rotate-keys", help="re-encrypt credentials with the newest key")

    def _add_key_source(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--api-key-env",
            default="",
            metavar="VARIABLE",
            help="read the API key from this environment variable (else from standard input)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        handler = getattr(self, f"_{options['action'].replace('-', '_')}")
        try:
            handler(options)
        except (ProviderAccountInvalid, ProviderAccount.DoesNotExist) as error:
            raise CommandError(str(error)) from None

    def _add(self, options: dict[str, Any]) -> None:
        kind = options["kind"]
        try:
            adapter_class = get_adapter_class(kind)
        except KeyError as error:
            raise CommandError(str(error.args[0])) from None
        presets = getattr(adapter_class, "base_urls", {})
        base_url = presets.get(options["base_url"], options["base_url"])
        needs_key = kind != ProviderAccount.Kind.LOCAL or options["api_key_env"]
        api_key = self._read_key(options) if needs_key else ""
        model_ids = {}
        for pair in options["model_id"]:
            catalog_id, separator, provider_id = pair.partition("=")
            if not separator or not provider_id:
                raise CommandError(f"--model-id takes CATALOG_ID=PROVIDER_ID; got {pair!r}")
            model_ids[catalog_id.strip()] = provider_id.strip()
        adapter_options: dict[str, Any] = {"watermark": options["watermark"]}
        for pair in options["option"]:
            name, separator, text = pair.partition("=")
            if not separator or not name.strip():
                raise CommandError(f"--option takes NAME=VALUE; got {pair!r}")
            try:
                adapter_options[name.strip()] = json.loads(text)
            except ValueError:
                adapter_options[name.strip()] = text  # a plain word needs no JSON quotes
        account = provider_account_create(
            data=ProviderAccountInput(
                kind=kind,
                label=options["label"],
                base_url=base_url,
                api_key=api_key,
                models=[model.strip() for model in options["models"].split(",") if model.strip()],
                model_ids=model_ids,
                priority=options["priority"],
                options=adapter_options,
                connect_timeout_s=options["connect_timeout"],
                read_timeout_s=options["read_timeout"],
                enabled=not options["disabled"],
            ),
            actor=None,
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Added {account.label} ({account.kind}) at {account.base_url or 'this machine'} "
                f"for {', '.join(account.models_served)}. "
                f"Check it with: manage.py provider_account check {account.label!r}"
            )
        )

    def _list(self, options: dict[str, Any]) -> None:
        accounts = ProviderAccount.objects.order_by("priority", "label")
        if not accounts:
            self.stdout.write("No provider accounts. Add one with: manage.py provider_account add")
            return
        for account in accounts:
            state = "enabled" if account.enabled else f"DISABLED ({account.disabled_reason})"
            key = "key set" if account.credentials_encrypted else "no key"
            self.stdout.write(
                f"{account.label} [{account.kind}] priority {account.priority}, {state}, {key}\n"
                f"    {account.base_url or '(local)'}\n"
                f"    models: {', '.join(account.models_served)}"
                + (f"\n    model ids: {account.model_ids}" if account.model_ids else "")
            )

    def _check(self, options: dict[str, Any]) -> None:
        account = ProviderAccount.objects.get(label=options["label"])
        try:
            shown = provider_account_check(account=account)
        except (ProviderError, ProviderAccountInvalid) as error:
            raise CommandError(f"{account.label}: {error.code}: {error}") from None
        self.stdout.write(self.style.SUCCESS(f"{account.label}: OK. {shown}"))

    def _enable(self, options: dict[str, Any]) -> None:
        account = ProviderAccount.objects.get(label=options["label"])
        provider_account_set_enabled(account=account, enabled=True, actor=None)
        self.stdout.write(f"{account.label} is enabled.")

    def _disable(self, options: dict[str, Any]) -> None:
        account = ProviderAccount.objects.get(label=options["label"])
        provider_account_set_enabled(
            account=account, enabled=False, actor=None, reason=options["reason"]
        )
        self.stdout.write(f"{account.label} is disabled; no generation is routed to it.")

    def _set_key(self, options: dict[str, Any]) -> None:
        account = ProviderAccount.objects.get(label=options["label"])
        provider_account_set_key(account=account, api_key=self._read_key(options), actor=None)
        self.stdout.write(f"{account.label}: key replaced.")

    def _rotate_keys(self, options: dict[str, Any]) -> None:
        count = provider_accounts_rotate_keys()
        self.stdout.write(f"Re-encrypted the credentials of {count} accounts with the newest key.")

    def _read_key(self, options: dict[str, Any]) -> str:
        variable = options["api_key_env"]
        if variable:
            value = os.environ.get(variable, "").strip()
            if not value:
                raise CommandError(f"The environment variable {variable} is empty or not set.")
            return value
        stream = options.get("stdin") or sys.stdin
        if stream.isatty():
            value = getpass.getpass("API key (not echoed): ").strip()
        else:
            value = stream.readline().strip()
        if not value:
            raise CommandError(
                "No API key given: pipe it on standard input or name a variable with --api-key-env."
            )
        return value
