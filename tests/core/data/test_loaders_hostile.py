"""Loaders against files a hostile or unlucky user brings: every one is rows or one clear LoadError.

Each test is named after the defect it guards against (issue #17): phone cells that turned into
another number, tracebacks from odd files, UTF-16 read as Latin-1, one bad item failing a batch.
"""

from __future__ import annotations

import io
import json
import re
from decimal import Decimal

import numpy as np
import pandas as pd
import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wamkt_nb.data.crm import CrmConfig, CrmFetch, crm_table
from wamkt_nb.data.loaders import load_customers, load_interactions, load_orders
from wamkt_nb.data.phones import _valid_e164, normalize_phone, normalize_phones, phone_text
from wamkt_nb.data.readers import MAX_COLUMNS, LoadError

KEY = b"k" * 32
E164 = re.compile(r"\+[1-9]\d{6,14}")


def load(data: bytes, name: str):
    return load_customers(data, name=name, id_key=KEY)


# -- phones: the exact number or a reject, never another number ------------------------------------


def test_excel_number_column_with_a_blank_cell_keeps_the_number(tmp_path):
    """The column becomes floats (4915112345678.0); it used to load as +49151123456780."""
    path = tmp_path / "k.xlsx"
    pd.DataFrame({"phone": [4915112345678.0, None, 4915112345679.0], "name": ["A", "B", "C"]}).to_excel(
        path, index=False
    )
    r = load_customers(path, id_key=KEY)
    assert list(r.rows["phone"]) == ["+4915112345678", "+4915112345679"]
    assert r.rejects["reason"].tolist() == ["phone is empty"]


def test_csv_cell_written_as_a_spreadsheet_number_keeps_the_number():
    r = load(b"phone,name\n4915112345678.0,A\n015112345679.00,B\n", "k.csv")
    assert list(r.rows["phone"]) == ["+4915112345678", "+4915112345679"]


def test_object_column_of_ints_and_a_blank_is_not_turned_into_floats():
    phones, reasons = normalize_phones(pd.Series([4915112345678, None, np.int64(4915112345679)], dtype=object))
    assert phones.tolist()[0::2] == ["+4915112345678", "+4915112345679"] and reasons[1] == "phone is empty"


@pytest.mark.parametrize(
    "cell, expected",
    [
        ("4.915112345678E+12", "+4915112345678"),
        ("4,915112345678e12", "+4915112345678"),
        (Decimal("4915112345678"), "+4915112345678"),
        (np.float64(4915112345678.0), "+4915112345678"),
        (15112345678, "+4915112345678"),  # a national number whose leading 0 a spreadsheet dropped
    ],
)
def test_number_cells_load_as_their_exact_number(cell, expected):
    assert normalize_phone(cell) == (expected, None)


@pytest.mark.parametrize(
    "cell, reason",
    [
        ("4.91511E+12", "scientific notation without all its digits"),
        (4915112345678.5, "has decimals"),
        ("4915112345678.5", "has decimals"),
        (-4915112345678, "negative"),
        ("-4.915112345678E+12", "negative"),
        (True, "yes/no"),
        (10**5000, "too long for E.164"),
        (float("inf"), "not a number"),
    ],
    ids=[
        "scientific-cut",
        "float-fraction",
        "text-fraction",
        "negative",
        "negative-scientific",
        "bool",
        "5000-digits",
        "inf",
    ],
)
def test_number_cells_that_lost_digits_are_rejected_with_a_reason(cell, reason):
    phone, why = normalize_phone(cell)
    assert phone is None and reason in why


_numbers = st.integers(min_value=10**6, max_value=10**15 - 1)
_cells = st.one_of(
    _numbers,
    _numbers.map(float),
    _numbers.map(np.int64),
    _numbers.map(np.float64),
    _numbers.map(Decimal),
    _numbers.map(str),
    _numbers.map(lambda n: f"{n}.0"),
    _numbers.map(lambda n: f"{n:.{len(str(n)) - 1}e}"),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=False),
    st.booleans(),
    st.none(),
    st.text(max_size=20),
    st.from_regex(r"[+-]?[0-9]{1,16}([.,][0-9]{0,6})?([eE][+-]?[0-9]{1,3})?", fullmatch=True),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cell=_cells, region=st.sampled_from(["DE", "US", "GB", "IN"]))
def test_phone_cells_of_any_type_give_the_exact_number_or_a_reject(cell, region):
    phone, reason = normalize_phone(cell, region)
    assert (phone is None) != (reason is None)
    if phone is None:
        return
    assert E164.fullmatch(phone)
    text, _ = phone_text(cell)
    if not isinstance(cell, str):  # a number: its digits, at most with the region's country code before them
        digits = str(int(cell))
        assert phone[1:] == digits or phone[1:].endswith(digits.lstrip("0"))
    elif re.fullmatch(r"[+]?[0-9]+(\.0+)?", text.strip()):  # digits as typed, or a spreadsheet's "N.0"
        assert phone[1:].endswith(text.strip().lstrip("+").split(".")[0].lstrip("0"))


@settings(max_examples=2_000, deadline=None)
@given(text=st.from_regex(r"\+[1-9][0-9]{5,14}", fullmatch=True))
def test_the_fast_e164_check_agrees_with_phonenumbers(text):
    try:
        number = phonenumbers.parse(text)
        expected = phonenumbers.format_number(number, 0) if phonenumbers.is_valid_number(number) else None
    except phonenumbers.NumberParseException:
        expected = None
    if _valid_e164(text):
        assert expected == text
    assert normalize_phone(text, strict=True)[0] == expected


# -- files that used to end in a traceback ---------------------------------------------------------


def test_binary_garbage_is_a_clear_error():
    data = bytes(np.random.default_rng(1).integers(0, 256, 5_000, dtype=np.uint8))
    with pytest.raises(LoadError, match=r"g.csv is not a text table \(binary data"):
        load(data, "g.csv")


def test_xlsx_renamed_csv_is_read_as_excel():
    buffer = io.BytesIO()
    pd.DataFrame({"phone": ["+4915112345678"], "name": ["A"]}).to_excel(buffer, index=False)
    r = load(buffer.getvalue(), "export.csv")
    assert r.loaded == 1 and any("is an Excel workbook although named .csv" in n for n in r.notes)


def test_old_xls_workbook_says_to_save_as_xlsx():
    with pytest.raises(LoadError, match=r"Excel 97-2003 .* save it as .xlsx"):
        load(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "old.xls")


def test_classic_mac_cr_line_ends_are_read():
    r = load(b"phone,name\r+4915112345678,A\r+4915112345679,B\r", "mac.csv")
    assert r.summary() == {"rows_in": 2, "loaded": 2, "rejected": 0, "merged": 0}
    assert "classic Mac line ends (CR)" in r.notes


def test_stray_cr_in_a_field_is_read_as_a_space():
    r = load(b"phone,name\n+4915112345678,Anna\rMaria\n+4915112345679,B\n", "cr.csv")
    assert r.loaded == 2 and r.rows.loc[0, "name"] == "Anna Maria"
    assert any("stray carriage return" in n for n in r.notes)


def test_a_million_field_line_is_one_reject():
    r = load(b"phone,name\n+4915112345678,A\n" + b"," * 1_000_000 + b"x\n+4915112345679,B\n", "wide.csv")
    assert r.summary() == {"rows_in": 3, "loaded": 2, "rejected": 1, "merged": 0}
    assert "1,000,001 fields but the header has 2" in r.rejects.loc[0, "reason"]


def test_a_million_column_header_is_a_clear_error():
    header = ",".join(f"c{i}" for i in range(1_000_000)).encode()
    with pytest.raises(LoadError, match=f"1,000,000 columns \\(at most {MAX_COLUMNS:,}"):
        load(header + b"\n1,2\n", "cols.csv")


def test_an_unclosed_quote_is_a_reject_naming_its_lines():
    r = load(b'phone,name\n+4915112345678,A\n+4915112345679,"B\n+4915112345670,C\n', "q.csv")
    assert r.summary() == {"rows_in": 2, "loaded": 1, "rejected": 1, "merged": 0}
    assert "lines 3-4: a quote opened here is never closed" in r.rejects.loc[0, "reason"]


def test_a_value_over_the_csv_field_limit_is_a_reject_and_the_rest_is_read():
    r = load(b'phone,name\n+4915112345678,"' + b"x" * 200_000 + b'"\n+4915112345679,B\n', "long.csv")
    assert r.loaded == 1 and "longer than 131,072 characters" in r.rejects.loc[0, "reason"]


def test_a_quote_inside_a_value_is_read_as_a_spreadsheet_would():
    r = load(b'phone,name\n+4915112345678,"M\xc3\xbcller" GmbH\n', "q.csv")
    assert r.rows.loc[0, "name"] == "Müller GmbH"


def test_100000_deep_json_is_a_clear_error():
    with pytest.raises(LoadError, match="nested too deeply"):
        load(b"[" * 100_000 + b"]" * 100_000, "deep.json")


def test_a_5000_digit_number_is_a_reject_not_a_crash():
    for data, name in (
        (b'[{"phone": ' + b"1" * 5000 + b"}]", "n.json"),
        (b'{"phone": ' + b"1" * 5000 + b"}\n", "n.ndjson"),
        (b"phone,name\n" + b"1" * 5000 + b",A\n", "n.csv"),
    ):
        r = load(data, name)
        assert r.summary()["rejected"] == 1 and "too long" in r.rejects.loc[0, "reason"], name


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_unicode_text_from_excel_is_decoded(encoding):
    data = "phone\tname\n+4915112345678\tJürgen\n+4915112345679\tZoë\n".encode(encoding)
    r = load(data, "unicode.txt")
    assert r.loaded == 2 and list(r.rows["name"]) == ["Jürgen", "Zoë"]


def test_utf16_without_bom_is_recognised():
    r = load("phone,name\n+4915112345678,Jürgen\n".encode("utf-16-le"), "u.csv")
    assert r.rows.loc[0, "name"] == "Jürgen"


# -- per-item isolation: one bad item is a reject, the rest is kept ---------------------------------


def test_a_json_record_that_cannot_be_flattened_is_one_reject():
    deep = {"a": None}
    node = deep
    for _ in range(5_000):  # deeper than json_normalize's recursion can follow
        node["a"] = {"a": None}
        node = node["a"]
    records = [{"phone": "+4915112345678"}, deep, 7, {"phone": "+4915112345679", "name": "\ud800"}]
    raw = crm_table(CrmFetch(records, pages=1, pagination="none", retries=0), CrmConfig("http://crm.example/api"))
    r = load_customers(raw, id_key=KEY)
    assert r.rows_in == 4 and r.loaded + r.rejected == 4
    assert "+4915112345678" in set(r.rows["phone"])
    assert {
        "record is a int, not an object",
        "record holds text that is not valid Unicode (a lone surrogate escape)",
        "record cannot be read as a table row (RecursionError)",
    } <= set(r.rejects["reason"])


def test_dates_out_of_range_are_rejects_of_their_rows():
    orders = (
        b"order_id,phone,date,amount\n1,+4915112345678,2025-05-01,10\n2,+4915112345678,99999999999999999999,5\n"
        b"3,+4915112345678,1e400,5\n4,+4915112345678,2025-05-02,inf\n"
    )
    r = load_orders(orders, name="o.csv", id_key=KEY)
    assert r.loaded == 1 and set(r.rejects["row"]) == {2, 3, 4}


def test_interaction_times_out_of_range_are_rejects_of_their_rows():
    data = b"phone,time,kind\n+4915112345678,2025-05-01T10:00,read\n+4915112345678,-99999999999999999,read\n"
    r = load_interactions(data, name="i.csv", id_key=KEY)
    assert r.loaded == 1 and r.rejected == 1


# -- any bytes: a clear error or every row accounted for ---------------------------------------------

_SUFFIXES = [".csv", ".txt", ".json", ".ndjson", ".xlsx", ".parquet"]
_text_bytes = st.lists(
    st.sampled_from(
        [
            "phone",
            "name",
            ",",
            ";",
            "\t",
            '"',
            "\n",
            "\r",
            "\r\n",
            "+4915112345678",
            "0151 1234567",
            "=HYPERLINK(1)",
            "{",
            "}",
            "[",
            "]",
            ":",
            "1e5",
            "ü",
            "\ud800",
            "\x00",
            "4915112345678.0",
        ]
    ),
    max_size=40,
).map(lambda parts: "".join(parts).encode("utf-8", "surrogatepass"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.one_of(st.binary(max_size=400), _text_bytes),
    suffix=st.sampled_from(_SUFFIXES),
    bom=st.sampled_from([b"", b"\xef\xbb\xbf", b"\xff\xfe"]),
)
def test_any_bytes_as_a_loader_file_give_rows_or_a_clear_error(data, suffix, bom):
    try:
        r = load(bom + data, "f" + suffix)
    except LoadError as exc:
        assert 0 < len(str(exc)) < 2_000
        return
    assert r.rows_in == r.loaded + r.rejected + r.merged
    assert r.rows["phone"].str.fullmatch(E164.pattern).all()


def test_any_json_records_give_rows_or_a_clear_error():
    for doc in (
        [{"phone": None}],
        [{"phone": [1, 2]}],
        [{"phone": {"a": 1}}],
        [{"phone": 1.5e300}],
        {"data": [{"phone": "+4915112345678", "signup_at": 10**30}]},
        [[]],
        [{}],
    ):
        try:
            r = load(json.dumps(doc).encode(), "d.json")
        except LoadError:
            continue
        assert r.rows_in == r.loaded + r.rejected + r.merged
