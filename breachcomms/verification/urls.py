from __future__ import annotations

from django.urls import path

from breachcomms.verification import views

app_name = "verification"
urlpatterns = [path("", views.verify, name="verify")]
