import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_portal.settings")
django_application = get_wsgi_application()

# The authorization API's ordinary calls are answered before Django (usage.authorize_fast).
from usage.authorize_fast import fast_authorize  # noqa: E402  (needs the app set up)

application = fast_authorize(django_application)
