from __future__ import annotations

from django.urls import path

from breachcomms.tracking import views

app_name = "tracking"
urlpatterns = [
    path("", views.index, name="index"),
    path("incidents/<int:incident_id>/", views.incident, name="incident"),
    path("incidents/<int:incident_id>/data.json", views.incident_data, name="incident-data"),
]
