from django.contrib import admin
from django.urls import include, path

urlpatterns = [
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

handler400 = "billing_portal.errors.bad_request"
handler404 = "billing_portal.errors.not_found"
handler500 = "billing_portal.errors.server_error"
