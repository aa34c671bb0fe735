from __future__ import annotations

from django.urls import path

from breachcomms.reports import views

app_name = "reports"
urlpatterns = [
    path("incidents/<int:incident_id>/regulator/", views.regulator, name="regulator"),
    path("incidents/<int:incident_id>/regulator.csv", views.regulator_csv, name="regulator-csv"),
    path(
        "incidents/<int:incident_id>/jurisdictions/<str:code>/deliveries.csv",
        views.jurisdiction_csv,
        name="jurisdiction-deliveries-csv",
    ),
    path("customers/<int:customer_id>/proof/", views.proof, name="proof"),
    path("customers/<int:customer_id>/proof.json", views.proof_json, name="proof-json"),
]
