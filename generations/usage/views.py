"""Staff pages of the admin: the usage report and provider health.

Mounted by ``generations.admin`` under the admin site (``admin_view``: staff only, CSRF, no
caching); each also checks the model permission that page is about.
"""

from datetime import date, timedelta
from typing import cast
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils import timezone

from accounts.models import User
from generations.models import ProviderAccount
from generations.services.provider_accounts import provider_account_set_enabled
from generations.services.routing import demo_renderer_state
from generations.usage.chart import SpendChart, spend_chart, stacked_spend_chart
from generations.usage.dimensions import DIMENSIONS
from generations.usage.forms import UsageReportForm
from generations.usage.health import provider_health
from generations.usage.report import UsageReport, report_group_labels, usage_report
from generations.usage.table import FIGURE_COLUMNS, report_headings, report_table
from studio_core.client_ip import client_ip
from studio_core.csv_export import csv_response
from studio_core.parsing import int_from_text

QUICK_RANGES = (("Today", 1), ("7 days", 7), ("30 days", 30), ("90 days", 90))


def usage_report_view(request: HttpRequest, *, site: admin.AdminSite) -> HttpResponseBase:
    if not request.user.has_perm("generations.view_generation"):
        raise PermissionDenied
    form = UsageReportForm.from_query(request.GET)
    context = {
        **site.each_context(request),
        "title": "Usage report",
        "form": form,
        "columns": FIGURE_COLUMNS,
        "quick_ranges": _quick_ranges(request),
    }
    if form.is_valid():
        start, end = form.bounds()
        team = form.cleaned_data["team"]
        report = usage_report(
            start=start,
            end=end,
            group_by=form.cleaned_data["group_by"],
            team_id=team.pk if team is not None else None,
        )
        rows = list(report_table(report))
        if request.GET.get("format") == "csv":
            groups = "-".join(report.group_by) or "total"
            first, last = form.cleaned_data["start"], form.cleaned_data["end"]
            of_team = f"{team.slug}-" if team is not None else ""
            return csv_response(
                filename=f"usage-{of_team}{first}-to-{last}-by-{groups}.csv",
                headings=report_headings(report),
                rows=([*row.labels, *(cell.value for cell in row.cells)] for row in rows),
            )
        query = request.GET.copy()
        query["format"] = "csv"
        context |= {
            "report": report,
            "group_headings": report_headings(report)[: -len(FIGURE_COLUMNS)],
            "rows": rows,
            "chart": _chart(
                report, first=form.cleaned_data["start"], last=form.cleaned_data["end"]
            ),
            "stacked_by": DIMENSIONS[report.stacked_by].label if report.stacked_by else "",
            "csv_url": f"{request.path}?{query.urlencode()}",
        }
    return TemplateResponse(request, "admin/usage/report.html", context)


def _chart(report: UsageReport, *, first: date, last: date) -> SpendChart:
    """Stacked by the report's first grouping column when it has one, else one bar a day."""
    if report.stacked_by:
        return stacked_spend_chart(
            daily=report.daily_spend_by_group,
            labels=report_group_labels(report),
            first=first,
            last=last,
        )
    return spend_chart(daily=report.daily_spend, first=first, last=last)


def _quick_ranges(request: HttpRequest) -> list[tuple[str, str]]:
    today = timezone.localdate()
    groups = request.GET.getlist("group_by") if "group_by" in request.GET else ["user"]
    links = []
    for label, days in QUICK_RANGES:
        start = today - timedelta(days=days - 1)
        query = urlencode(
            [("start", start.isoformat()), ("end", today.isoformat())]
            + [("group_by", name) for name in groups]
            + [("team", team) for team in request.GET.getlist("team")[:1] if team]
        )
        links.append((label, f"{request.path}?{query}"))
    return links


def provider_health_view(request: HttpRequest, *, site: admin.AdminSite) -> HttpResponse:
    if not request.user.has_perm("generations.view_provideraccount"):
        raise PermissionDenied
    if request.method == "POST":
        return _set_enabled(request)
    health = provider_health()
    context = {
        **site.each_context(request),
        "title": "Provider health",
        "health": health,
        "rows": [
            (account, [window.of(account) for window in health.windows])
            for account in health.accounts
        ],
        "can_change": request.user.has_perm("generations.change_provideraccount"),
        "demo": demo_renderer_state(),
    }
    return TemplateResponse(request, "admin/usage/health.html", context)


def _set_enabled(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("generations.change_provideraccount"):
        raise PermissionDenied
    # Not a number is no such account (404); the ORM raised ValueError on it (500).
    account = get_object_or_404(ProviderAccount, pk=int_from_text(request.POST.get("account")))
    enable = request.POST.get("action") == "enable"
    staff = cast(User, request.user)  # admin_view lets only logged-in staff through
    reason = request.POST.get("reason", "").strip()[:200]
    account = provider_account_set_enabled(
        account=account,
        enabled=enable,
        actor=staff,
        reason=reason or f"Disabled by {staff.get_username()} on the provider health page.",
        ip_address=client_ip(request),
    )
    state = "enabled" if account.enabled else "disabled"
    messages.success(request, f"{account.label} is {state}.")
    return redirect(request.path)
