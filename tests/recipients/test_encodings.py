"""Customer files from spreadsheets: UTF-16 recognised by its mark, Windows code pages when named."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from breachcomms.incidents.models import Incident
from breachcomms.recipients.encodings import EncodingError, source_encoding
from breachcomms.recipients.models import Customer, CustomerImport
from breachcomms.recipients.services import customer_import_create, customer_import_run

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

SWEDISH = "namn;e-post;mobil;land\r\nÅsa Öberg;åsa@exempel.se;070-123 45 67;SE\r\nBo Ek;bo@exempel.se;;SE\r\n"
RUSSIAN = "имя,email,телефон,страна\nЁлкина Юлия,yulia@example.ru,+7 912 345-67-89,RU\n"


def run(incident: Incident, data: bytes, name: str = "customers.csv", encoding: str = "") -> CustomerImport:
    created = customer_import_create(incident=incident, stream=io.BytesIO(data), name=name, encoding=encoding)
    customer_import_run(customer_import_id=created.id, processes=0)
    return CustomerImport.objects.get(id=created.id)


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32"])
def test_a_utf16_or_utf32_file_with_its_byte_order_mark_is_read_as_it_is(incident: Incident, codec: str) -> None:
    # Excel's "Unicode text" is UTF-16 little-endian with a mark; "utf-16-be" gets the big-endian mark.
    data = SWEDISH.encode(codec) if codec != "utf-16-be" else b"\xfe\xff" + SWEDISH.encode("utf-16-be")

    result = run(incident, data)

    assert result.summary == "imported 2 customers from 2 rows: 0 merged, 0 rejected, 0 warnings"
    assert result.encoding in ("utf-16", "utf-32")
    assert sorted(Customer.objects.values_list("name", "email", "phone")) == [
        ("Bo Ek", "bo@exempel.se", ""),
        ("Åsa Öberg", "åsa@exempel.se", "+46701234567"),
    ]


def test_a_windows_1252_file_named_so_keeps_its_letters(incident: Incident) -> None:
    result = run(incident, SWEDISH.encode("cp1252"), encoding="cp1252")

    assert result.rows_rejected == 0
    assert result.encoding == "cp1252"
    assert Customer.objects.get(phone="+46701234567").name == "Åsa Öberg"


def test_a_windows_1252_file_not_named_loses_no_row_silently(incident: Incident) -> None:
    result = run(incident, SWEDISH.encode("cp1252"))

    # The row with Swedish letters is rejected and says how to import it; the other loads.
    assert result.summary == "imported 1 customers from 2 rows: 0 merged, 1 rejected, 0 warnings"
    message = result.issues.get().message
    assert "not UTF-8" in message
    assert "Windows-1252" in message


def test_naming_a_code_page_for_a_file_already_in_utf8_is_refused(incident: Incident) -> None:
    # Converting it would turn "Åsa" into "Ã…sa" in every notice.
    with pytest.raises(EncodingError, match="already UTF-8"):
        customer_import_create(incident=incident, stream=io.BytesIO(SWEDISH.encode()), name="c.csv", encoding="cp1251")
    assert not CustomerImport.objects.exists()


def test_an_unknown_or_non_text_encoding_is_refused() -> None:
    with pytest.raises(EncodingError, match="not an encoding"):
        source_encoding(b"name\n", "klingon-8")
    with pytest.raises(EncodingError, match="not a text encoding"):
        source_encoding(b"name\n", "base64")
    assert source_encoding(b"name\n", "UTF8") == "utf-8"
    assert source_encoding(b"\xff\xfen\x00", "cp1252") == "utf-16"  # the mark is certain and wins


def test_a_broken_utf16_file_is_refused_with_where_it_breaks(incident: Incident) -> None:
    data = "name,email\nA,a@example.com\n".encode("utf-16") + b"\x00\xd8" + "B,b@example.com\n".encode("utf-16-le")

    with pytest.raises(EncodingError, match="broken near byte"):
        customer_import_create(incident=incident, stream=io.BytesIO(data), name="c.csv")


def test_the_command_converts_a_named_encoding_and_refuses_a_wrong_one(incident: Incident, tmp_path: Path) -> None:
    path = tmp_path / "ryska.csv"
    path.write_bytes(RUSSIAN.encode("cp1251"))
    out, err = io.StringIO(), io.StringIO()

    call_command("import_customers", str(incident.id), str(path), "--encoding", "cp1251", stdout=out, stderr=err)

    assert "converted ryska.csv from cp1251 to UTF-8" in err.getvalue()
    assert "imported 1 customers from 1 rows" in out.getvalue()
    # Russian column names are understood too.
    assert Customer.objects.values_list("name", "email", "phone", "country").get() == (
        "Ёлкина Юлия",
        "yulia@example.ru",
        "+79123456789",
        "RU",
    )
    with pytest.raises(CommandError, match="not an encoding"):
        call_command("import_customers", str(incident.id), str(path), "--encoding", "cp9999")


def test_the_upload_form_offers_the_encoding_and_shows_a_refusal(
    client: Client, commander: User, incident: Incident
) -> None:
    client.force_login(commander)
    url = reverse("admin:recipients_customerimport_upload", args=[incident.pk])

    wrong = client.post(url, {"file": SimpleUploadedFile("c.csv", SWEDISH.encode()), "encoding": "cp1252"})
    assert wrong.status_code == 200
    assert "already UTF-8" in wrong.content.decode()
    assert not CustomerImport.objects.exists()

    right = client.post(url, {"file": SimpleUploadedFile("c.csv", SWEDISH.encode("cp1252")), "encoding": "cp1252"})
    assert right.status_code == 302
    assert CustomerImport.objects.get().encoding == "cp1252"
    assert Customer.objects.get(phone="+46701234567").name == "Åsa Öberg"
