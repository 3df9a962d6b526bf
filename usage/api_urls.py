from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from usage import api_views

urlpatterns = [
    path("v1/usage", api_views.UsageView.as_view(), name="api_usage"),
    path("v1/authorize", api_views.AuthorizeView.as_view(), name="api_authorize"),
    path("v1/estimate", api_views.EstimateView.as_view(), name="api_estimate"),
    path("v1/wallets", api_views.WalletsView.as_view(), name="api_wallets"),
    path("schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api_schema"), name="api_docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api_schema"), name="api_redoc"),
]
