from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView


class FaviconView(RedirectView):
    """Browsers and crawlers ask for /favicon.ico whatever a page's <link rel="icon"> says. The
    static URL is looked up per request: production's manifest exists only after collectstatic."""

    permanent = True

    def get_redirect_url(self, *args, **kwargs) -> str:
        return static("img/favicon.svg")


handler400 = "billing_portal.errors.bad_request"
handler403 = "billing_portal.errors.permission_denied"
handler404 = "billing_portal.errors.page_not_found"
handler500 = "billing_portal.errors.server_error"

urlpatterns = [
    path("favicon.ico", FaviconView.as_view(), name="favicon"),
    path("admin/finance/", include("finance.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("alerts.api_urls")),
    path("api/", include("usage.api_urls")),
    path("", include("ops.urls")),
    path("", include("portal.urls")),
    path("", include("payments.urls")),
    path("", include("phone_numbers.urls")),
    path("", include("alerts.urls")),
]
