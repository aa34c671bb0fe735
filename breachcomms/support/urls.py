from __future__ import annotations

from django.urls import path

from breachcomms.support import views

app_name = "support"
urlpatterns = [
    path("", views.search, name="search"),
    path("customers/<int:customer_id>/", views.customer, name="customer"),
]
