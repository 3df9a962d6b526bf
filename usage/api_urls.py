from csp.decorators import csp_update
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from usage import api_views

urlpatterns = [
    path("v1/usage", api_views.UsageView.as_view(), name="api_usage"),
    path("v1/authorize", api_views.AuthorizeView.as_view(), name="api_authorize"),
    path("v1/estimate", api_views.EstimateView.as_view(), name="api_estimate"),
    path("v1/wallets", api_views.WalletsView.as_view(), name="api_wallets"),
    path("schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api_schema"), name="api_docs"),
    # ReDoc's page starts itself with an inline script: allowed on this page only.
    path(
        "redoc/",
        csp_update({"script-src": ["'unsafe-inline'"], "worker-src": ["blob:"]})(
            SpectacularRedocView.as_view(url_name="api_schema")
        ),
        name="api_redoc",
    ),
]
