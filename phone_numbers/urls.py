from django.urls import path

from phone_numbers import views

urlpatterns = [
    path("w/<slug:workspace_slug>/numbers/buy/", views.number_purchase, name="number_purchase"),
]
