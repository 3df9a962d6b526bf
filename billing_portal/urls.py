from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/finance/", include("finance.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("usage.api_urls")),
    path("", include("ops.urls")),
    path("", include("portal.urls")),
    path("", include("payments.urls")),
    path("", include("phone_numbers.urls")),
]
