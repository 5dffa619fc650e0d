"""The gallery at ``/gallery/``: the user's own generations, or those shared with one of their
teams, or with everyone here."""

import dataclasses
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from accounts.models import Team
from accounts.services.teams import teams_of
from generations.pages.common import AuthenticatedHttpRequest
from generations.pages.forms import GalleryFilterForm
from generations.pages.gallery_images import gallery_images_render
from generations.pages.gallery_link import detail_query_for
from generations.selectors.generations import (
    GALLERY_TAB_MINE,
    GALLERY_TAB_TEAM,
    gallery_authors,
    generation_gallery_list,
)

GALLERY_PAGE_SIZE = 24
# The gallery's two views: one tile per generation (the default), or one per image.
VIEW_GENERATIONS = "generations"
VIEW_IMAGES = "images"


@dataclass(frozen=True)
class GalleryTab:
    label: str
    tab: str
    team: Team | None = None

    @property
    def query(self) -> str:
        """The tab's query string (without "?"), also what "Clear" goes back to."""
        return urlencode({"tab": self.tab, **({"team": self.team.slug} if self.team else {})})

    @property
    def images_query(self) -> str:
        """The same, in the view of images."""
        return f"{self.query}&view={VIEW_IMAGES}"


def gallery_tabs(teams: list[Team]) -> list[GalleryTab]:
    """ "Mine", one tab per team of the user's, and what was shared with everyone here (called
    "Team", as before teams, for someone in none)."""
    return [
        GalleryTab("Mine", GALLERY_TAB_MINE),
        *(GalleryTab(f"Team {team}", GALLERY_TAB_TEAM, team) for team in teams),
        GalleryTab("Everyone" if teams else "Team", GALLERY_TAB_TEAM),
    ]


@login_required
@require_GET
def gallery(request: AuthenticatedHttpRequest) -> HttpResponse:
    teams = teams_of(request.user)
    tabs = gallery_tabs(teams)
    current: GalleryTab | None = tabs[0]
    if request.GET.get("tab") == GALLERY_TAB_TEAM:
        slug = request.GET.get("team", "")
        current = next(
            (tab for tab in tabs[1:] if (tab.team.slug if tab.team else "") == slug), None
        )
    if current is None:
        # Not one of the user's teams (or a team they have left): nothing to show them.
        raise Http404("You are not a member of that team.")
    team_id = current.team.pk if current.team else None
    authors = (
        list(gallery_authors(user=request.user, team_id=team_id))
        if current.tab == GALLERY_TAB_TEAM
        else []
    )
    form = GalleryFilterForm(request.GET or None, tab=current.tab, authors=authors)
    filters = dataclasses.replace(form.to_filters(), team_id=team_id)
    view = VIEW_IMAGES if request.GET.get("view") == VIEW_IMAGES else VIEW_GENERATIONS
    context = {
        "form": form,
        "tab": current.tab,
        "current": current,
        "tabs": tabs,
        "view": view,
        "filtered": form.is_filtered(),
        # The detail page opened from here walks this same list (previous/next).
        "detail_query": detail_query_for(request.GET),
    }
    if view == VIEW_IMAGES:
        return gallery_images_render(request, filters=filters, context=context)
    generations = generation_gallery_list(user=request.user, filters=filters)
    context["page"] = Paginator(generations, GALLERY_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "generations/gallery.html", context)
