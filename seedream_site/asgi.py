import os

from django.core.asgi import get_asgi_application

from .body_limits import BodyLimitMiddleware

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "seedream_site.settings")

# Bodies over their route's ceiling are refused before Django reads (and spools) them.
application = BodyLimitMiddleware(get_asgi_application())
