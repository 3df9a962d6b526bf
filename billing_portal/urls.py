from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/finance/", include("finance.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("alerts.api_urls")),
    path("api/", include("usage.api_urls")),
    path("", include("ops.urls")),
    path("", include("wallets.urls")),
    path("", include("payments.urls")),
    path("", include("usage.number_urls")),
    path("", include("alerts.urls")),
]
