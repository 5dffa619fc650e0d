"""Every page of the workspace, the account pages, the sign-in pages and the admin pages we own,
in Chromium at a laptop (1280x800) and a phone (390x844) size, over a realistic data set: the
page scrolls only down, every form control on it can be scrolled to and clicked, and axe-core
finds no WCAG 2.1 A/AA violation. A full-page screenshot of each is kept under
``var/screenshots/<page>-<width>x<height>.png`` (CI keeps them as artifacts)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts.models import ApiKey, Budget, Membership, User
from accounts.services.audit import audit_record
from accounts.services.budget_admin import budget_set
from accounts.services.credits import credit_account_for, credits_adjust, team_wallet_for
from accounts.services.invitations import invitations_create
from accounts.services.keys import KeyPolicy, api_key_create
from generations.models import Board, Generation, ProviderAccount, ProviderAttempt
from generations.providers.local import render_image
from generations.services.boards import board_create, board_item_add
from tests.browser.conftest import SCREENSHOTS, new_context
from tests.browser.page_audit import (
    axe_install,
    axe_violations,
    page_overflow,
    unreachable_controls,
)
from tests.factories import (
    GenerationFactory,
    MembershipFactory,
    OutputImageFactory,
    ProviderAttemptFactory,
    StarFactory,
    TeamFactory,
    UserFactory,
    finished_generation_times,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
PRICE = 30


@dataclass(frozen=True)
class World:
    """What the pages show: the staff user signs in; the rest is theirs or their team's."""

    staff: User
    detail: Generation
    board: Board
    key: ApiKey
    team_slug: str
    invitation_path: str


def _generation(
    owner: User,
    *,
    model: str,
    prompt: str,
    size: tuple[int, int],
    delivered: int,
    requested: int,
    status: str = Generation.Status.SUCCEEDED,
    team_wallet: bool = False,
    team=None,
    account: ProviderAccount,
    minutes_ago: int,
    **fields,
) -> Generation:
    """A finished generation charged through the ledger, its images drawn by the demo renderer."""
    width, height = size
    generation = GenerationFactory(
        owner=owner,
        wallet=team_wallet_for(team) if team_wallet else credit_account_for(owner),
        model=model,
        prompt=prompt,
        params={"size": "2K", "width": width, "height": height},
        num_images=requested,
        status=status,
        price_per_image=PRICE,
        credits_held=PRICE * requested,
        credits_charged=PRICE * delivered,
        seed_used=1234,
        **finished_generation_times(created_at=timezone.now() - timedelta(minutes=minutes_ago)),
        **fields,
    )
    for index in range(delivered):
        # A preview-sized rendering keeps the data set light; the page shows the stated size.
        scale = 512 / max(width, height)
        content = render_image(
            prompt=prompt,
            seed=1234,
            index=index,
            width=round(width * scale),
            height=round(height * scale),
        )
        OutputImageFactory(
            generation=generation,
            index=index,
            file=f"outputs/{generation.pk}-{index}.jpg",
            thumbnail=f"thumbnails/{generation.pk}-{index}.jpg",
            content=content,
            width=width,
            height=height,
            format="jpeg",
        )
    ProviderAttemptFactory(
        generation=generation,
        account=account,
        outcome=ProviderAttempt.Outcome.SUCCEEDED if delivered else ProviderAttempt.Outcome.FAILED,
        images_returned=delivered,
        latency_ms=8400,
        error_message="" if delivered else "The provider refused the connection.",
    )
    return generation


@pytest.fixture
def world(live_server, local_account) -> World:
    staff = UserFactory(username="morgan", is_staff=True, is_superuser=True, credits=50_000)
    ana = UserFactory(username="ana", first_name="Ana", last_name="Lima", credits=8_000)
    lee = UserFactory(username="lee", credits=3_000)
    design = TeamFactory(name="Design", slug="design", credits=40_000)
    MembershipFactory(team=design, user=staff, role=Membership.Role.OWNER)
    MembershipFactory(team=design, user=ana, role=Membership.Role.MANAGER)
    MembershipFactory(team=design, user=lee, role=Membership.Role.MEMBER)
    budget_set(scope=Budget.Scope.TEAM, team=design, limit=20_000, actor=staff)
    budget_set(
        scope=Budget.Scope.MEMBER, team=design, user=lee, limit=2_000, period="week", actor=staff
    )
    budget_set(scope=Budget.Scope.USER, user=staff, limit=10_000, actor=staff)

    made = [
        _generation(
            staff,
            model="seedream-4.0",
            prompt="A paper crane on a desk, soft morning light",
            size=(2304, 1728),
            delivered=2,
            requested=2,
            account=local_account,
            minutes_ago=50,
        ),
        _generation(
            staff,
            model="dreamina-3.1",
            prompt="A tall lighthouse in a storm, cinematic, 9:21",
            size=(1152, 2688),
            delivered=1,
            requested=1,
            account=local_account,
            minutes_ago=40,
        ),
        _generation(
            staff,
            model="seedream-4.5",
            prompt="A wide desert panorama at noon",
            size=(3024, 1296),
            delivered=1,
            requested=1,
            team=design,
            team_wallet=True,
            visibility=Generation.Visibility.TEAM,
            shared_team=design,
            account=local_account,
            minutes_ago=30,
        ),
        _generation(
            staff,
            model="seedream-5.0-lite",
            prompt="Three product shots of a ceramic mug on linen",
            size=(2048, 2048),
            delivered=2,
            requested=3,
            status=Generation.Status.PARTIAL,
            image_errors=[
                {"index": 2, "code": "content_refused", "message": "The provider refused image 3."}
            ],
            account=local_account,
            minutes_ago=20,
        ),
        _generation(
            staff,
            model="seedream-4.0",
            prompt="A neon street market at night",
            size=(2048, 2048),
            delivered=0,
            requested=1,
            status=Generation.Status.FAILED,
            error_code="provider_unavailable",
            error_message="Every provider was unavailable; the 30 credits held were returned.",
            account=local_account,
            minutes_ago=10,
        ),
        _generation(
            ana,
            model="seedream-4.0",
            prompt="Moodboard: brass, teal velvet, morning fog",
            size=(2048, 2048),
            delivered=1,
            requested=1,
            team=design,
            team_wallet=True,
            visibility=Generation.Visibility.TEAM,
            shared_team=design,
            account=local_account,
            minutes_ago=5,
        ),
    ]
    detail = made[3]
    StarFactory(user=staff, generation=made[0])

    board = board_create(
        owner=staff, name="Spring campaign", visibility=Board.Visibility.TEAM, team=design
    )
    for generation in made[:3]:
        board_item_add(board=board, user=staff, generation=generation)
    board_create(owner=staff, name="Moodboards")

    key = api_key_create(
        user=staff,
        name="render farm",
        team=design,
        policy=KeyPolicy(allowed_models=("seedream-4.0",), max_size_tier="2K", max_running=2),
        actor=staff,
    ).api_key
    budget_set(scope=Budget.Scope.KEY, api_key=key, limit=3_000, period="day", actor=staff)
    api_key_create(user=staff, name="laptop", actor=staff)
    credits_adjust(user=staff, amount=-200, actor=staff, memo="Correction of a duplicate grant")

    invitations_create(
        emails=["kim@example.com", "sam@example.com"],
        invited_by=staff,
        credits=500,
        team=design,
        base_url=live_server.url,
    )
    (link,) = [word for word in mail.outbox[0].body.split() if "/invitations/" in word]
    audit_record(actor=staff, action="team.budget_set", target=design, after={"limit": 20_000})
    return World(
        staff=staff,
        detail=detail,
        board=board,
        key=key,
        team_slug=design.slug,
        invitation_path=urlsplit(link).path,
    )


@dataclass(frozen=True)
class Page:
    name: str
    path: Callable[[World], str]
    signed_in: bool = True
    ready: str = ""  # what shows once the page's own script has drawn it


PAGES = [
    Page("workspace", lambda world: "/"),
    Page("gallery", lambda world: "/gallery/"),
    Page("gallery-team", lambda world: f"/gallery/?tab=team&team={world.team_slug}"),
    Page("detail", lambda world: f"/generations/{world.detail.pk}/"),
    Page("boards", lambda world: "/boards/"),
    Page("board", lambda world: f"/boards/{world.board.pk}/"),
    Page("teams", lambda world: "/teams/"),
    Page("team", lambda world: f"/teams/{world.team_slug}/"),
    Page("keys", lambda world: "/account/keys/"),
    Page("key-limits", lambda world: f"/account/keys/{world.key.pk}/"),
    Page("credits", lambda world: "/account/credits/"),
    Page("email", lambda world: "/email/"),
    Page("password-change", lambda world: "/password/change/"),
    Page("mfa", lambda world: "/2fa/"),
    Page("sessions", lambda world: "/sessions/"),
    Page("api-docs", lambda world: "/api/docs/", ready="#swagger-ui .opblock"),
    Page("login", lambda world: "/login/", signed_in=False),
    Page("password-reset", lambda world: "/password/reset/", signed_in=False),
    Page("invitation", lambda world: world.invitation_path, signed_in=False),
    Page("admin-usage", lambda world: "/admin/generations/generation/usage/"),
    Page("admin-health", lambda world: "/admin/generations/provideraccount/health/"),
    Page("admin-audit", lambda world: "/admin/accounts/auditevent/"),
    Page("admin-invitations", lambda world: "/admin/accounts/invitation/"),
    Page("admin-invite", lambda world: "/admin/accounts/invitation/add/"),
]

# A check expected to fail, with its reason (none today: every page passes every check).
KNOWN_FAILURES: dict[tuple[str, str], str] = {}


def _cases() -> list:
    cases = []
    for page in PAGES:
        for viewport in (LAPTOP, PHONE):
            size = f"{viewport['width']}x{viewport['height']}"
            reason = KNOWN_FAILURES.get((page.name, size))
            marks = [pytest.mark.xfail(strict=False, reason=reason)] if reason else []
            cases.append(pytest.param(page, viewport, id=f"{page.name}-{size}", marks=marks))
    return cases


# The page's folded parts; the top bar's menu is checked on its own (below): open, it lies over
# the page as a menu does, so what it covers is not "unreachable".
_OPEN_EVERY_DETAILS = """() => {
  const closed = document.querySelectorAll("details:not([open]):not(.navmenu)");
  closed.forEach((details) => { details.open = true; });
  return closed.length;
}"""

# The phone's menu, opened (the others closed again): every link in it must be on screen and on
# top where it is clicked. Returns what is not.
_MENU_LINKS_UNREACHABLE = """() => {
  const menu = document.querySelector("details.navmenu");
  if (!menu || getComputedStyle(menu.querySelector("summary")).display === "none") return [];
  document.querySelectorAll("details[open]").forEach((details) => { details.open = false; });
  menu.open = true;
  const problems = [];
  menu.querySelectorAll("a, button").forEach((control) => {
    const box = control.getBoundingClientRect();
    const x = box.left + box.width / 2, y = box.top + box.height / 2;
    const inside = box.width > 0 && x >= 0 && x <= innerWidth && y >= 0 && y <= innerHeight;
    const hit = inside && document.elementFromPoint(x, y);
    if (!hit || !(hit === control || control.contains(hit))) {
      const name = control.textContent.trim();
      problems.push(`menu ${control.tagName.toLowerCase()} "${name}" cannot be reached`);
    }
  });
  return problems;
}"""


def _sign_in(context, live_server, user: User) -> None:
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}]
    )


def _screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.mark.parametrize(("page_under_test", "viewport"), _cases())
def test_the_page_fits_is_reachable_and_accessible(
    browser, live_server, csp_watch, world, page_under_test, viewport
):
    axe = axe_install()
    # The audit injects axe-core, which the site's Content-Security-Policy would refuse.
    context = new_context(browser, live_server, csp_watch, viewport=viewport, bypass_csp=True)
    if page_under_test.signed_in:
        _sign_in(context, live_server, world.staff)
    page = context.new_page()
    page.set_default_timeout(20_000)
    path = page_under_test.path(world)
    response = page.goto(path)
    assert response is not None
    assert response.status == 200, f"{path} answered {response.status}"
    if not page_under_test.signed_in:
        assert "/login/" in page.url or path == urlsplit(page.url).path
    page.wait_for_load_state("load")
    if page_under_test.ready:
        page.locator(page_under_test.ready).first.wait_for()

    # The picture first: the reachability check scrolls boxes sideways to reach their controls.
    _screenshot(page, f"{page_under_test.name}-{viewport['width']}x{viewport['height']}")
    problems = []
    overflow = page_overflow(page)
    if overflow:
        problems.append(overflow)
    problems += unreachable_controls(page)
    problems += [str(violation) for violation in axe_violations(page, axe)]
    # Then as someone who opened every folded part (a member's settings, a board's, the
    # policy form): what they hold must pass too.
    if page.evaluate(_OPEN_EVERY_DETAILS):
        overflow = page_overflow(page)
        if overflow:
            problems.append(f"(opened) {overflow}")
        problems += [f"(opened) {problem}" for problem in unreachable_controls(page)]
        problems += [f"(opened) {violation}" for violation in axe_violations(page, axe)]
    problems += page.evaluate(_MENU_LINKS_UNREACHABLE)
    context.close()
    assert not problems, f"{path} at {viewport['width']}x{viewport['height']}:\n" + "\n".join(
        problems
    )
