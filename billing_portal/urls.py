from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

handler400 = "billing_portal.errors.bad_request"
handler403 = "billing_portal.errors.permission_denied"
handler404 = "billing_portal.errors.page_not_found"
handler500 = "billing_portal.errors.server_error"

urlpatterns = [
    # Browsers and crawlers ask for /favicon.ico whatever the page's <link rel="icon"> says.
    path("favicon.ico", RedirectView.as_view(url=static("img/favicon.svg"), permanent=True)),
    path("admin/finance/", include("finance.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("usage.api_urls")),
    path("", include("ops.urls")),
    path("", include("wallets.urls")),
    path("", include("payments.urls")),
    path("", include("usage.number_urls")),
]
