"""The data loader widget driven in plain pytest: set values, click, check traits and .data."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pandas as pd
import pytest

from wamkt_nb.data.sample import generate
from wamkt_nb.widgets.data_loader import NONE, DataLoaderWidget
from wamkt_nb.workspace import load_customer_data

CSV = (
    "Kundennummer;Vorname;Nachname;Handy;Einwilligung\n"
    "K1;Anna;Müller;0151 1234567;ja\nK2;Ben;Koch;kaputt;ja\nK3;Eva;Wolf;+49 151 1234567;nein\n"
    "K4;Max;Kraus;0176 98765432;ja\n"
)
FULL_PHONE = re.compile(r"\+\d{10,15}")


@pytest.fixture(autouse=True)
def own_workspace(workspace):
    """Ids derived from phones use the workspace's key: keep it out of the checkout."""
    return workspace


def _upload(widget: DataLoaderWidget, content: bytes, name: str) -> None:
    widget.upload.value = (
        {
            "name": name,
            "type": "text/csv",
            "size": len(content),
            "content": memoryview(content),
            "last_modified": datetime.now(UTC),
        },
    )


def _figure(widget: DataLoaderWidget, name: str) -> str:
    match = re.search(rf"data-name='{re.escape(name)}'.*?wamkt-figure-value[^>]*>([^<]*)<", widget.summary.value)
    assert match, f"no figure {name!r} in the summary"
    return match.group(1)


def test_starts_empty_and_uses_the_sample():
    w = DataLoaderWidget()
    assert w.data is None and "No data loaded yet" in w.summary.value
    w.sample_size.value = 300
    w.sample_button.click()
    assert len(w.data.customers) == 300 and len(w.data.orders) > 0
    assert _figure(w, "customers") == "300"
    assert "Loaded 300 customers from sample data" in w.status.value
    assert not FULL_PHONE.search(w.preview.value) and "*****" in w.preview.value
    assert w.data.customers["email"].dropna().iloc[0] not in w.preview.value and "***@example.com" in w.preview.value


def test_upload_shows_mapping_preview_rejects_and_summary():
    w = DataLoaderWidget()
    seen = []
    w.on_loaded(seen.append)
    _upload(w, CSV.encode("cp1252"), "kunden.csv")
    assert w.result.summary() == {"rows_in": 4, "loaded": 2, "rejected": 1, "merged": 1}
    assert (_figure(w, "customers: rows in"), _figure(w, "loaded"), _figure(w, "rejected"), _figure(w, "merged")) == (
        "4",
        "2",
        "1",
        "1",
    )
    assert _figure(w, "countries") == "DE 2"
    assert seen == [w.data] and list(w.data.customers["customer_id"]) == ["K1", "K4"]
    assert w._dropdowns["phone"].value == "Handy" and w._dropdowns["email"].value == NONE
    assert "kaputt" in w.rejects.value and "phone has characters other than digits" in w.rejects.value
    assert not FULL_PHONE.search(w.preview.value) and "+49151*****67" in w.preview.value
    assert "encoding Latin-1/cp1252; delimiter &#x27;;&#x27;" in w.summary.value


def test_changing_the_mapping_reloads():
    w = DataLoaderWidget()
    _upload(w, b"Name,Nummer,Zweitnummer\nAnna,kein Telefon,015112345678\nBen,nix,0152 23456789\n", "x.csv")
    assert w.result.loaded == 0 and w.result.rejected == 2
    w._dropdowns["phone"].value = "Zweitnummer"
    w.apply_button.click()
    assert w.result.loaded == 2 and w.result.mapping["phone"] == "Zweitnummer"
    assert list(w.data.customers["phone"]) == ["+4915112345678", "+4915223456789"]


def test_a_file_without_ids_shows_no_full_number_anywhere():
    w = DataLoaderWidget()
    _upload(
        w,
        b"Name;Handy\nAnna;0151 1234567\nBen;+49 152 23456789\nEva;0176 98765432\nTom;01511234567\nX;kaputt\n",
        "nur-telefon.csv",
    )
    assert w.result.summary() == {"rows_in": 5, "loaded": 3, "rejected": 1, "merged": 1}
    ids = w.data.customers["customer_id"]
    assert ids.str.fullmatch(r"c_[0-9a-f]{16}").all() and ids.is_unique
    shown = w.preview.value + w.rejects.value + w.summary.value + w.status.value
    assert ids.iloc[0] in w.preview.value and "*****" in w.preview.value
    assert not any(p in shown or p[1:] in shown for p in w.data.customers["phone"])


def test_a_phone_number_in_any_column_is_masked_in_the_preview():
    w = DataLoaderWidget()
    _upload(
        w, b"Kundennummer,Name,Handy\n+491511234567,Anna,0151 1234567\n+4915223456789,Ben,+4915223456789\n", "ids.csv"
    )
    assert w.result.loaded == 2 and "+491511234567" in w.data.customers["customer_id"].tolist()
    shown = w.preview.value + w.rejects.value
    assert "+49151*****67" in w.preview.value
    assert not any(p in shown or p[1:] in shown for p in w.data.customers["phone"])


@pytest.mark.parametrize(
    "content, name, message",
    [
        (b"", "leer.csv", "leer.csv is empty"),
        (b"name,email\nAnna,a@b.de\n", "x.csv", "no phone column found among: &#x27;name&#x27;, &#x27;email&#x27;"),
        (b"\x00\x01garbage", "x.xlsx", "x.xlsx is not a readable Excel workbook"),
    ],
)
def test_bad_files_give_a_message_not_a_traceback(content, name, message):
    w = DataLoaderWidget()
    _upload(w, content, name)
    assert "Could not load" in w.status.value and message in w.status.value
    assert "Traceback" not in w.status.value and w.data is None


def test_path_orders_and_interactions_join_the_loaded_customers(tmp_path):
    w = DataLoaderWidget()
    w.load_path()
    assert "Enter a file path first" in w.status.value
    (tmp_path / "k.csv").write_bytes(CSV.encode())
    (tmp_path / "o.csv").write_text(
        'Bestellnummer,Kundennummer,Datum,Betrag\nA1,K1,2025-05-01,"12,50"\nA2,K9,2025-05-02,3\n'
    )
    (tmp_path / "i.ndjson").write_text(
        '{"Handy": "0176 98765432", "Zeitpunkt": "2025-05-01T10:00:00Z", "Typ": "gelesen"}\n'
    )
    w.path.value = str(tmp_path / "k.csv")
    w.path_button.click()
    w.kind.value = "orders"
    w.path.value = str(tmp_path / "o.csv")
    w.path_button.click()
    assert w.result.kind == "orders" and w.result.loaded == 1 and "no loaded customer has this id" in w.rejects.value
    w.kind.value = "interactions"
    w.path.value = str(tmp_path / "i.ndjson")
    w.path_button.click()
    assert len(w.data.customers) == 2 and len(w.data.orders) == 1 and len(w.data.interactions) == 1
    assert w.data.interactions.loc[0, "customer_id"] == "K4"
    w.path.value = str(tmp_path / "missing.csv")
    w.path_button.click()
    assert "no such file" in w.status.value and len(w.data.orders) == 1  # the loaded data stays


def test_orders_before_customers_is_explained(tmp_path):
    w = DataLoaderWidget()
    w.kind.value = "orders"
    _upload(w, b"order_id,customer_id,date,amount\nA1,K1,2025-01-01,5\n", "o.csv")
    assert "Load customers before orders" in w.status.value


def test_save_puts_the_data_where_notebooks_find_it(workspace):
    w = DataLoaderWidget(data=generate(50, seed=3))
    w.save_button.click()
    assert "Saved to" in w.status.value
    # the confirmation sits beside the button, whose label is never cut
    assert w.save_note.level == "ok" and w.save_note.text.startswith("Saved to")
    assert w.save_note in w.save_button_row.children and w.save_button.layout.width == "auto"
    again = load_customer_data()
    assert list(again.customers["customer_id"]) == list(w.data.customers["customer_id"])
    saved = w.data.orders.assign(ordered_at=w.data.orders["ordered_at"].dt.floor("us"))  # the store's precision
    pd.testing.assert_frame_equal(again.orders.reset_index(drop=True), saved.reset_index(drop=True), check_dtype=False)
