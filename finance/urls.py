from django.contrib import admin
from django.urls import path

from finance import admin_views

# Admin-site pages: admin_view asks for a staff login; each view checks its permission.
urlpatterns = [
    path("dashboard/", admin.site.admin_view(admin_views.dashboard_view), name="finance_dashboard"),
    path(
        "wallets/<int:wallet_id>/adjust/",
        admin.site.admin_view(admin_views.adjustment_view),
        name="finance_adjustment",
    ),
    path("topups/<int:topup_id>/refund/", admin.site.admin_view(admin_views.refund_view), name="finance_refund"),
]
