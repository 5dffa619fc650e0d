"""The gallery at ``/gallery/``: the user's own generations or the team's shared ones."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from generations.pages.common import AuthenticatedHttpRequest
from generations.pages.forms import GalleryFilterForm
from generations.selectors.generations import (
    GALLERY_TAB_MINE,
    GALLERY_TAB_TEAM,
    gallery_authors,
    generation_gallery_list,
)

GALLERY_PAGE_SIZE = 24


@login_required
@require_GET
def gallery(request: AuthenticatedHttpRequest) -> HttpResponse:
    tab = GALLERY_TAB_TEAM if request.GET.get("tab") == GALLERY_TAB_TEAM else GALLERY_TAB_MINE
    authors = list(gallery_authors(user=request.user)) if tab == GALLERY_TAB_TEAM else []
    form = GalleryFilterForm(request.GET or None, tab=tab, authors=authors)
    generations = generation_gallery_list(user=request.user, filters=form.to_filters())
    page = Paginator(generations, GALLERY_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "tab": tab,
        "tabs": [(GALLERY_TAB_MINE, "Mine"), (GALLERY_TAB_TEAM, "Team")],
        "page": page,
        "filtered": form.is_filtered(),
    }
    return render(request, "generations/gallery.html", context)
