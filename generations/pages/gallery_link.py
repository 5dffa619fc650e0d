"""The gallery a detail page was opened from.

The gallery's filters travel in the detail page's query string
(``?from=gallery&tab=team&team=design&model=…``), so previous/next on the detail page walk the
same list the user was looking at, under the same visibility rules.
"""

import dataclasses

from django.http import QueryDict

from accounts.models import Team, User
from generations.pages.forms import GalleryFilterForm
from generations.selectors.generations import (
    GALLERY_TAB_MINE,
    GALLERY_TAB_TEAM,
    GalleryFilters,
    gallery_authors,
)

FROM_GALLERY = "gallery"

# What the detail page passes on to its neighbours: the gallery's filters (and its view, for the
# way back), never its page nor the view of images' cursor.
NOT_CARRIED = ("page", "after")


def gallery_filters_from_query(*, user: User, query: QueryDict) -> GalleryFilters | None:
    """The filters of the gallery named by ``query``, or None when the page was not opened from
    the gallery or names a team the user is not in (no neighbours rather than an error: the
    generation itself is still theirs to see)."""
    if query.get("from") != FROM_GALLERY:
        return None
    tab = GALLERY_TAB_TEAM if query.get("tab") == GALLERY_TAB_TEAM else GALLERY_TAB_MINE
    team_id = None
    authors: list[User] = []
    if tab == GALLERY_TAB_TEAM:
        slug = query.get("team", "")
        if slug:
            team = Team.objects.filter(slug=slug, memberships__user=user).first()
            if team is None:
                return None
            team_id = team.pk
        if query.get("author"):
            authors = list(gallery_authors(user=user, team_id=team_id))
    form = GalleryFilterForm(query, tab=tab, authors=authors)
    return dataclasses.replace(form.to_filters(), team_id=team_id)


def detail_query_for(query: QueryDict) -> str:
    """The query string a gallery's tiles give the detail page (``?`` excluded)."""
    carried = gallery_query(query)
    return f"from={FROM_GALLERY}" + (f"&{carried}" if carried else "")


def gallery_query(query: QueryDict) -> str:
    """``query`` without what must not follow the user from page to page (``?`` excluded)."""
    carried = query.copy()
    for name in NOT_CARRIED:
        carried.pop(name, None)
    return carried.urlencode()
