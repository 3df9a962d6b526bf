from django.urls import path

from usage import number_views

urlpatterns = [
    path("w/<slug:workspace_slug>/numbers/buy/", number_views.number_purchase, name="number_purchase"),
]
