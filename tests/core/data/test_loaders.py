"""File loaders: formats, encodings, column mapping, phone normalisation, rejects and merges."""

from __future__ import annotations

import csv
import io
import json
import re

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wamkt_nb.cli import main
from wamkt_nb.data.columns import detect_mapping
from wamkt_nb.data.loaders import load_customers, load_interactions, load_orders, to_customer_data
from wamkt_nb.data.phones import normalize_phone, normalize_phones
from wamkt_nb.data.privacy import mask_email, mask_phone, mask_phones
from wamkt_nb.data.readers import LoadError, sniff_delimiter
from wamkt_nb.data.schema import CUSTOMER_COLUMNS
from wamkt_nb.workspace import load_customer_data

GERMAN_CSV = """Kundennummer;Vorname;Nachname;Handy;E-Mail;Stadt;Einwilligung;Registriert am
K1;Anna;Müller;0151 1234567;anna@example.de;Berlin;ja;01.02.2025
K2;Jürgen;Schmidt;+49 (152) 2345-6789;kein-mail;Köln;nein;2025-03-04
K3;Lena;Koch;abc;;Hamburg;ja;
K4;Anna;Müller;+491511234567;;;ja;
K5;Tom;Brown;+1 212 555 0100;t@ex.com;NYC;vielleicht;
"""


@pytest.mark.parametrize(
    "raw",
    [
        "0151 1234567",
        "+49 (151) 123-4567",
        "0049151 1234567",
        "491511234567",
        "01511234567",
        "0049-151-1234567",
        "whatsapp:+491511234567",
        491511234567.0,
    ],
)
def test_german_forms_normalise_to_one_e164(raw):
    assert normalize_phone(raw, "DE") == ("+491511234567", None)


@pytest.mark.parametrize(
    "raw, reason",
    [
        ("", "phone is empty"),
        (None, "phone is empty"),
        ("abc", "phone has characters other than digits"),
        ("0151", "not a valid DE number"),
        ("+999 1234567", "not a phone number (unknown country code)"),
        ("12345678901234", "too long for E.164 (more than 15 digits)"),
    ],
)
def test_invalid_numbers_get_a_reason(raw, reason):
    assert normalize_phone(raw, "DE") == (None, reason)


def test_other_countries_and_regions():
    assert normalize_phone("+43 664 1234567")[0] == "+436641234567"
    assert normalize_phone("436641234567")[0] == "+436641234567"  # country code without "+"
    assert normalize_phone(15112345678)[0] == "+4915112345678"  # Excel dropped the leading 0
    assert normalize_phone("(212) 555-0100", "US")[0] == "+12125550100"
    assert normalize_phone("0151 1234567", strict=True) == (None, "not a valid DE number")
    phones, reasons = normalize_phones(pd.Series(["0151 1234567", None, "x1"], dtype=object))
    assert phones.tolist()[0] == "+491511234567" and pd.isna(phones[1]) and reasons[1] == "phone is empty"


def test_mask_phone_hides_the_middle():
    assert mask_phone("+491511234567") == "+49151*****67"
    assert mask_phone("+12125550100") == "+12125****00"
    assert mask_phone(None) == "" and mask_phone("123") == "***"
    assert mask_phones(pd.Series(["+491511234567", None], dtype="string")).tolist() == ["+49151*****67", ""]
    assert mask_phone("0151 1234567") == "0151 1****67"  # raw text: only digits are hidden
    assert mask_email("anna.mueller@example.com") == "a***@example.com" and mask_email(pd.NA) == ""


def test_detects_german_and_english_headers():
    m = detect_mapping(["Kundennummer", "Vorname", "Nachname", "Telefon", "Handy", "E-Mail", "Sprache", "Ort", "Land"])
    assert m == {
        "phone": "Handy",
        "customer_id": "Kundennummer",
        "first_name": "Vorname",
        "last_name": "Nachname",
        "email": "E-Mail",
        "language": "Sprache",
        "country": "Land",
        "city": "Ort",
    }
    m = detect_mapping(["id", "first_name", "last_name", "WhatsApp Number", "Mobile", "email", "opt-in"])
    assert m["phone"] == "WhatsApp Number" and m["opted_in"] == "opt-in" and m["customer_id"] == "id"
    assert detect_mapping(["contact.phone", "contact.name"])["phone"] == "contact.phone"


def test_german_cp1252_csv_with_semicolons():
    r = load_customers(GERMAN_CSV.encode("cp1252"), name="kunden.csv")
    assert r.summary() == {"rows_in": 5, "loaded": 2, "rejected": 2, "merged": 1}
    assert "encoding Latin-1/cp1252" in r.notes and "delimiter ';'" in r.notes
    anna = r.rows.set_index("customer_id").loc["K1"]
    assert anna.phone == "+491511234567" and anna.last_name == "Müller" and anna.country == "DE"
    assert anna.timezone == "Europe/Berlin" and anna.language == "de" and bool(anna.opted_in)
    assert anna.signup_at == pd.Timestamp("2025-02-01", tz="UTC")
    assert list(r.rows.columns) == list(CUSTOMER_COLUMNS)
    assert r.rows.set_index("customer_id").loc["K2", "email"] is pd.NA
    rejects = r.rejects.set_index("row")
    assert rejects.loc[3, "column"] == "Handy" and rejects.loc[3, "value"] == "abc"
    assert "not yes/no" in rejects.loc[5, "reason"]
    assert r.merges.to_dict("records") == [{"row": 4, "kept_row": 1, "key": "+491511234567"}]


@pytest.mark.parametrize("encoding, bom", [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("latin-1", b"")])
def test_encodings_give_the_same_rows(encoding, bom):
    r = load_customers(bom + GERMAN_CSV.encode(encoding), name="k.csv")
    assert r.rows.set_index("customer_id").loc["K2", "first_name"] == "Jürgen"
    assert r.rows.columns[0] == "customer_id" and "Kundennummer" in r.columns  # BOM not in the header


def test_mixed_encodings_are_decoded_per_line_and_reported():
    data = "name,phone,city\nJürgen,015112345678,Köln\n".encode() + "Jörg,015212345678,Düsseldorf\n".encode("cp1252")
    r = load_customers(data, name="mixed.csv")
    assert sorted(r.rows["city"]) == ["Düsseldorf", "Köln"]
    assert any("mixed encodings in mixed.csv: lines 3 are Latin-1/cp1252" in n for n in r.notes)


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters_are_sniffed(delimiter):
    text = delimiter.join(["name", "phone", "city"]) + "\n" + delimiter.join(["Anna", "015112345678", "Berlin"]) + "\n"
    assert sniff_delimiter(text) == delimiter
    assert load_customers(text.encode(), name="x.csv").loaded == 1


def test_quoted_delimiters_and_bad_lines():
    data = b'name,phone,city\n"M\xc3\xbcller, Anna",015112345678,Berlin\nBob,015212345678,Hamburg,extra,more\n'
    r = load_customers(data, name="q.csv")
    assert r.rows.loc[0, "name"] == "Müller, Anna" and r.rows.loc[0, "first_name"] == "Müller,"
    assert r.summary() == {"rows_in": 2, "loaded": 1, "rejected": 1, "merged": 0}
    assert "5 fields but the header has 3 (line 3" in r.rejects.loc[0, "reason"]


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty.csv is empty"),
        (b"   \n\n", "empty.csv is empty"),
        (b"name;phone\n", "has a header (name, phone) but no data rows"),
        (b"name,email\nAnna,a@x.de\n", "no phone column found among: 'name', 'email'"),
        (b"name:phone:city\nAnna:0151:Berlin\n", "no phone column found among: 'name:phone:city'"),
    ],
)
def test_unloadable_files_say_what_and_where(data, message):
    with pytest.raises(LoadError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_customers(data, name="empty.csv")


@pytest.mark.parametrize(
    "data", [b"name:phone:city\nAnna:0151 1234567:Berlin\n", b'"name;phone;city"\n"Anna;0151 1234567;Berlin"\n']
)
def test_wrong_delimiter_gets_a_hint(data):
    with pytest.raises(LoadError, match="x.csv: no phone column .* single column: is the delimiter right"):
        load_customers(data, name="x.csv")


def test_explicit_mapping_overrides_detection():
    data = b"Kontakt,Nummer,Zweitnummer\nAnna,not a number,015112345678\n"
    assert load_customers(data, name="m.csv").rejected == 1
    r = load_customers(data, name="m.csv", mapping={"phone": "Zweitnummer"})
    assert r.loaded == 1 and r.rows.loc[0, "phone"] == "+4915112345678" and r.mapping["phone"] == "Zweitnummer"
    with pytest.raises(LoadError, match="names column 'Handy' for phone, but the source has only"):
        load_customers(data, name="m.csv", mapping={"phone": "Handy"})


def test_excel_parquet_json_ndjson(tmp_path):
    frame = pd.DataFrame(
        {"Vorname": ["Anna", "Ben"], "Mobilnummer": [4915112345678, "0152 23456789"], "Land": ["Deutschland", "AT"]}
    )
    frame.to_excel(tmp_path / "k.xlsx", index=False)
    frame.astype(str).to_parquet(tmp_path / "k.parquet")
    (tmp_path / "k.json").write_text(json.dumps({"customers": frame.astype(str).to_dict("records")}))
    (tmp_path / "k.ndjson").write_text(
        "\n".join(json.dumps(r) for r in frame.astype(str).to_dict("records")) + "\n{not json\n"
    )
    for name in ("k.xlsx", "k.parquet", "k.json", "k.ndjson"):
        r = load_customers(tmp_path / name)
        assert r.rows["phone"].tolist() == ["+4915112345678", "+4915223456789"], name
        assert r.rows["first_name"].tolist() == ["Anna", "Ben"]
        assert r.rows["country"].tolist() == ["DE", "AT"]
    nd = load_customers(tmp_path / "k.ndjson")
    assert nd.summary() == {"rows_in": 3, "loaded": 2, "rejected": 1, "merged": 0}
    assert "line 3 is not valid JSON" in nd.rejects.loc[0, "reason"]


def test_nested_json_records():
    doc = {"data": [{"id": 7, "contact": {"phone": "+43 664 1234567", "name": "Eva Gruber"}}]}
    r = load_customers(json.dumps(doc).encode(), name="crm.json")
    assert r.rows.loc[0, "customer_id"] == "7" and r.rows.loc[0, "country"] == "AT"
    assert r.rows.loc[0, "timezone"] == "Europe/Vienna" and r.rows.loc[0, "language"] == "de"


def test_orders_and_interactions_join_by_id_or_phone():
    customers = load_customers(GERMAN_CSV.encode(), name="k.csv").rows
    orders = load_orders(
        "Bestellnummer,Kundennummer,Telefon,Bestelldatum,Betrag,Währung\n"
        'A1,K1,,2025-05-01,"1.234,50 €",eur\n'
        "A2,,0152 23456789,03.05.2025 14:30,19.99,\n"
        "A3,K9,,2025-05-02,3,\n"
        'A1,K1,,2025-05-01,"1.234,50",EUR\n'
        "A4,K2,,gestern,5,\n"
        "A5,K2,,2025-05-04,-5,\n".encode(),
        customers=customers,
        name="orders.csv",
    )
    assert orders.summary() == {"rows_in": 6, "loaded": 2, "rejected": 3, "merged": 1}
    got = orders.rows.set_index("order_id")
    assert got.loc["A1", "amount"] == 1234.5 and got.loc["A1", "currency"] == "EUR"
    assert got.loc["A2", "customer_id"] == "K2" and got.loc["A2", "ordered_at"] == pd.Timestamp(
        "2025-05-03 14:30", tz="UTC"
    )
    reasons = orders.rejects.set_index("row")["reason"]
    assert (
        reasons[3] == "no loaded customer has this id" and "not a date/time" in reasons[5] and "negative" in reasons[6]
    )

    inter = load_interactions(
        b"phone,at,type\n0151 1234567,2025-05-01T10:00:00Z,gelesen\n0160 9999999,2025-05-01,read\n"
        b"0151 1234567,2025-05-01T10:00:00Z,read\n0151 1234567,2025-05-02,foo\n",
        customers=customers,
        name="i.csv",
    )
    assert inter.summary() == {"rows_in": 4, "loaded": 1, "rejected": 2, "merged": 1}
    assert inter.rows.loc[0, "kind"] == "read" and inter.rows.loc[0, "customer_id"] == "K1"
    data = to_customer_data(load_customers(GERMAN_CSV.encode(), name="k.csv"), orders, inter)
    assert len(data.customers) == 2 and len(data.orders) == 2 and len(data.interactions) == 1


@pytest.fixture(scope="module", autouse=True)
def own_workspace(tmp_path_factory):
    """Ids derived from phones use the workspace's key: keep it out of the checkout."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WAMKT_WORKSPACE", str(tmp_path_factory.mktemp("loaders-ws")))
        yield


def test_missing_customer_id_is_a_keyed_hash_of_the_phone_and_duplicates_fill_gaps(tmp_path):
    data = b"name,phone,email,opt-in\nAnna,0151 1234567,,yes\n,+491511234567,anna@x.de,yes\nBen,0152 23456789,,no\n"
    r = load_customers(data, name="d.csv")
    assert r.summary() == {"rows_in": 3, "loaded": 2, "rejected": 0, "merged": 1}
    anna = r.rows.set_index("phone").loc["+491511234567"]
    assert anna["name"] == "Anna" and anna.email == "anna@x.de"
    assert re.fullmatch(r"c_[0-9a-f]{16}", anna.customer_id) and "1234567" not in anna.customer_id
    again = load_customers(data[::-1][::-1], name="again.csv")  # same workspace key: same ids on every load
    assert again.rows["customer_id"].tolist() == r.rows["customer_id"].tolist()
    other = load_customers(data, name="d.csv", id_key=b"another workspace's key 32 bytes")
    assert set(other.rows["customer_id"]).isdisjoint(r.rows["customer_id"])  # not a plain hash anyone can redo
    orders = load_orders(b"Telefon,Datum,Betrag\n+49 151 1234567,2025-05-01,10\n", name="o.csv")
    inter = load_interactions(b"Handy,Zeit,Art\n01511234567,2025-05-01 10:00,gelesen\n", name="i.csv")
    assert orders.rows.loc[0, "customer_id"] == inter.rows.loc[0, "customer_id"] == anna.customer_id


_cell = st.one_of(
    st.sampled_from(
        [
            "0151 1234567",
            "+49 152 23456789",
            "0049 160 3456789",
            "+43 664 1234567",
            "491511234567",
            "abc",
            "",
            "0151",
            "+1 212 555 0100",
            "++",
            "017612345678",
        ]
    ),
    st.text(alphabet="0123456789 +-()", max_size=16),
)
_row = st.tuples(
    st.sampled_from(["Anna", "Jürgen", "", 'Ö,"x"']),
    _cell,
    st.sampled_from(["ja", "nein", "", "vielleicht", "1"]),
    st.sampled_from(["K1", "K2", "", "K3"]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(_row, min_size=1, max_size=25),
    delimiter=st.sampled_from([",", ";", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "mixed"]),
)
def test_every_row_is_accounted_for(rows, delimiter, encoding):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(["Vorname", "Telefon", "Einwilligung", "Kundennummer"])
    writer.writerows(rows)
    lines = buffer.getvalue().splitlines(keepends=True)
    if encoding == "mixed":  # every other line in cp1252, the rest UTF-8
        data = b"".join(line.encode("cp1252" if i % 2 else "utf-8") for i, line in enumerate(lines))
    else:
        data = buffer.getvalue().encode(encoding)
    r = load_customers(data, name="h.csv")
    assert r.rows_in == len(rows)
    names = {name for name, *_ in rows if name}
    assert set(r.rows["first_name"].dropna()) <= names | {n.split(" ")[0] for n in names}
    assert r.rows_in == r.loaded + r.rejected + r.merged
    assert r.rows["phone"].is_unique and r.rows["customer_id"].is_unique
    assert r.rows["phone"].str.match(r"^\+[1-9]\d{6,14}$").all()
    accounted = set(r.rejects["row"]) | set(r.merges["row"])
    assert len(accounted) == r.rejected + r.merged


def test_cli_load_saves_the_workspace_and_the_rejects(tmp_path, capsys):
    (tmp_path / "k.csv").write_bytes(GERMAN_CSV.encode("cp1252"))
    (tmp_path / "o.csv").write_text("Kundennummer,Datum,Betrag\nK1,2025-05-01,10\nK2,2025-05-02,20\nK7,2025-05-02,1\n")
    ws = tmp_path / "ws"
    assert main(["load", str(tmp_path / "k.csv"), "--orders", str(tmp_path / "o.csv"), "--workspace", str(ws)]) == 0
    out = capsys.readouterr().out
    assert "customers from k.csv: rows in 5, loaded 2, rejected 2, merged 1" in out
    assert "orders from o.csv: rows in 3, loaded 2, rejected 1, merged 0" in out
    data = load_customer_data(ws)
    assert list(data.customers["customer_id"]) == ["K1", "K2"] and len(data.orders) == 2
    assert set(pd.read_csv(ws / "rejects_customers.csv")["row"]) == {3, 5}
    assert main(["load", str(tmp_path / "missing.csv"), "--workspace", str(ws)]) == 2
    assert "could not load:" in capsys.readouterr().err


_order_row = st.tuples(
    st.sampled_from(["A1", "A2", "A3", "", "A1"]),
    st.sampled_from(["K1", "K2", "K9", ""]),
    st.sampled_from(["2025-05-01", "01.02.2025 10:00", "gestern", "", "1700000000"]),
    st.sampled_from(["12,50", "3", "-1", "abc", "", "1.234,56 €"]),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(_order_row, min_size=1, max_size=20))
def test_every_order_row_is_accounted_for(rows):
    customers = load_customers(GERMAN_CSV.encode(), name="k.csv").rows
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["Bestellnummer", "Kundennummer", "Datum", "Betrag"])
    writer.writerows(rows)
    r = load_orders(buffer.getvalue().encode(), customers=customers, name="o.csv")
    assert r.rows_in == len(rows) == r.loaded + r.rejected + r.merged
    assert r.rows["order_id"].is_unique and r.rows["customer_id"].isin(customers["customer_id"]).all()
    assert (r.rows["amount"] >= 0).all() and r.rows["ordered_at"].notna().all()
