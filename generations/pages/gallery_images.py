"""The gallery's view of images (``/gallery/?view=images``): one tile per output image in
justified rows, a page of them at a time after a cursor; the script asks for the next page
as a fragment as the viewer scrolls, and the "More images" link is the same page without it."""

from typing import Any

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers

from generations.pages.common import AuthenticatedHttpRequest
from generations.pages.forms import BoardAddForm
from generations.pages.image_tiles import image_tiles
from generations.selectors.boards import board_choices
from generations.selectors.gallery_images import ImageCursor, gallery_image_page
from generations.selectors.generations import GalleryFilters

GALLERY_IMAGES_PAGE_SIZE = 60
# Sent by static/js/gallery.js when it fetches the next page: only the tiles and the link on.
FRAGMENT_HEADER = "X-Gallery-Fragment"


def gallery_images_render(
    request: AuthenticatedHttpRequest, *, filters: GalleryFilters, context: dict[str, Any]
) -> HttpResponse:
    after = ImageCursor.parse(request.GET.get("after", ""))
    page = gallery_image_page(
        user=request.user, filters=filters, after=after, limit=GALLERY_IMAGES_PAGE_SIZE
    )
    context = {
        **context,
        "images": page.images,
        "tiles": image_tiles(
            page.images, viewer=request.user, detail_query=context.get("detail_query", "")
        ),
        "here": request.get_full_path(),
        "reference_url": reverse("workspace"),
        "next_cursor": page.next_cursor.token if page.next_cursor else "",
        "continued": after is not None,
    }
    if request.headers.get(FRAGMENT_HEADER) == "1":
        response = render(request, "generations/_image_page.html", context)
    else:
        boards = board_choices(user=request.user)
        context |= {"boards": boards, "board_form": BoardAddForm(boards=boards)}
        response = render(request, "generations/gallery.html", context)
    # The same address answers with a page or a fragment: caches must keep them apart.
    patch_vary_headers(response, [FRAGMENT_HEADER])
    return response
