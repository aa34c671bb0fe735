"""Error pages: plain words in the reader's language, and a way on — never Django's bare defaults."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.template import loader
from django.test import Client
from django.urls import reverse
from django.utils import translation

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def test_a_missing_page_points_to_the_verification_page(client: Client) -> None:
    response = client.get("/notice/K7QX-M4PD/")

    assert response.status_code == 404
    page = response.content.decode()
    assert "We could not find this page" in page
    # Someone who followed a link from a breach message is offered the genuine way to check it.
    assert f'href="{reverse("verification:verify")}" id="error-verify-link"' in page


def test_a_missing_page_speaks_the_readers_language(client: Client) -> None:
    response = client.get("/saknas/", HTTP_ACCEPT_LANGUAGE="sv")

    assert response.status_code == 404
    assert '<html lang="sv">' in response.content.decode()
    assert "Vi kunde inte hitta sidan" in response.content.decode()


def test_a_page_outside_the_users_role_says_so_and_links_home(client: Client, commander: User) -> None:
    client.force_login(commander)

    response = client.get(reverse("support:search"))

    assert response.status_code == 403
    page = response.content.decode()
    assert "Your account may not open this page" in page
    assert f'href="{reverse("admin:index")}"' in page


def test_an_expired_form_is_explained_without_jargon() -> None:
    client = Client(enforce_csrf_checks=True)

    response = client.post(reverse("verification:verify"), {"code": "K7QX-M4PD-9TZA"}, HTTP_ACCEPT_LANGUAGE="ru")

    assert response.status_code == 403
    page = response.content.decode()
    assert "Форму не удалось отправить" in page
    assert "CSRF" not in page


def test_the_server_error_page_renders_without_any_context() -> None:
    # Django renders 500.html with no context and no request: the page must not need either.
    with translation.override("id"):
        page = loader.get_template("500.html").render()

    assert '<html lang="id">' in page
    assert "Terjadi kesalahan di pihak kami" in page
