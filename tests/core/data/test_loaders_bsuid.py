"""Customers with a business-scoped user ID (BSUID): a row needs a phone, a BSUID or both; the same
customer seen both ways is merged; BSUIDs and usernames are masked wherever people see data."""

from __future__ import annotations

import pandas as pd
import pytest

from wamkt_nb.data.loaders import load_customers, load_interactions, load_orders, to_customer_data
from wamkt_nb.data.privacy import mask_bsuid, mask_frame, mask_phone, mask_phones, mask_text, mask_username
from wamkt_nb.data.readers import LoadError
from wamkt_nb.data.stored import read_customer_data, write_customer_data
from wamkt_nb.identities import resolve_identity
from wamkt_nb.store import open_store

KEY = b"a test workspace key of 32 bytes"
CSV = """Kundennummer;Name;Handy;BSUID;Username;Land
K1;Anna Müller;0151 1234567;DE.13491208655302741918;@anna.m;
K2;Ben Weber;;DE.24817305912873645029;@benw;
K3;Cem Kaya;;;;
K4;Dora Falk;0152 2345678;12345;;
K5;Eva Roth;;US.5550001112223334445;;
K6;Anna Müller;;DE.13491208655302741918;;DE
"""


@pytest.fixture
def loaded():
    return load_customers(CSV.encode(), name="kunden.csv", id_key=KEY)


def test_bsuid_and_username_columns_are_recognised(loaded):
    assert loaded.mapping["bsuid"] == "BSUID" and loaded.mapping["username"] == "Username"
    assert loaded.balanced and loaded.summary() == {"rows_in": 6, "loaded": 3, "rejected": 2, "merged": 1}
    assert list(loaded.rows.columns[-2:]) == ["bsuid", "username"]


def test_a_row_is_valid_with_a_phone_a_bsuid_or_both(loaded):
    rows = loaded.rows.set_index("customer_id")
    assert (rows.loc["K1", "phone"], rows.loc["K1", "bsuid"]) == ("+491511234567", "DE.13491208655302741918")
    assert pd.isna(rows.loc["K2", "phone"]) and rows.loc["K2", "bsuid"] == "DE.24817305912873645029"
    assert rows.loc["K2", "username"] == "@benw"
    assert rows.loc["K5", "country"] == "US"  # a BSUID-only customer's country comes from the BSUID


def test_rejected_rows_name_the_field(loaded):
    reasons = {(r.row, r.column): r.reason for r in loaded.rejects.itertuples()}
    assert reasons[(3, "Handy")] == "no phone number and no business-scoped user ID"
    assert reasons[(4, "BSUID")] == "not a business-scoped user ID (like US.13491208655302741918)"


def test_the_same_customer_seen_by_phone_and_by_bsuid_is_merged(loaded):
    (merge,) = loaded.merges.itertuples()
    assert (merge.row, merge.kept_row) == (6, 1)
    anna = loaded.rows.set_index("customer_id").loc["K1"]
    assert anna["phone"] == "+491511234567" and anna["username"] == "@anna.m"


def test_bsuid_only_customers_get_ids_without_the_bsuid_in_them():
    result = load_customers(
        b"bsuid,name\nDE.24817305912873645029,Ben\nDE.24817305912873645029,Ben W\n", name="b.csv", id_key=KEY
    )
    (cid,) = result.rows["customer_id"]
    assert cid.startswith("c_") and "2481730591" not in cid and result.merged == 1
    again = load_customers(b"bsuid\nDE.24817305912873645029\n", name="b.csv", id_key=KEY)
    assert again.rows["customer_id"].tolist() == [cid]


def test_a_file_without_phone_or_bsuid_column_is_refused():
    with pytest.raises(LoadError, match=r"no phone column found .*\(or a BSUID column\)"):
        load_customers(b"name,email\nAnna,a@x.de\n", name="x.csv")


def test_bsuid_and_username_survive_the_store(loaded, tmp_path):
    store = open_store(tmp_path / "s.db")
    write_customer_data(store, to_customer_data(loaded))
    back = read_customer_data(store).customers.set_index("customer_id")
    assert back.loc["K2", "bsuid"] == "DE.24817305912873645029" and back.loc["K2", "username"] == "@benw"
    store.close()


def test_masking_hides_bsuids_and_usernames(loaded):
    assert mask_bsuid("US.13491208655302741918") == "US.1349**************18"
    assert mask_bsuid("US.ENT.11815799212886844830") == "US.ENT.1181**************30"
    assert mask_username("@sheena.nelson") == "@s***" and mask_username(None) == ""
    shown = mask_frame(loaded.rows)
    assert "13491208655302741918" not in shown.to_csv() and "@anna.m" not in shown.to_csv()
    assert shown.set_index("customer_id").loc["K2", "username"] == "@b***"
    assert mask_text("Antwort von US.13491208655302741918: ok") == "Antwort von US.1349**************18: ok"
    assert mask_text("U.S. prices 12.50, DE.12") == "U.S. prices 12.50, DE.12"


def test_orders_and_interactions_find_their_customer_by_bsuid(loaded):
    orders = load_orders(
        b"bsuid,amount,date\nDE.24817305912873645029,10,2026-01-01\nDE.99,5,2026-01-02\n",
        name="o.csv",
        customers=loaded.rows,
        id_key=KEY,
    )
    assert orders.rows["customer_id"].tolist() == ["K2"]
    assert orders.rejects[["column", "value", "reason"]].values.tolist() == [
        ["bsuid", "DE.99", "no loaded customer has this BSUID"]
    ]
    # without loaded customers: the id load_customers derives for a customer with only that BSUID
    alone = load_customers(b"bsuid\nDE.24817305912873645029\n", name="b.csv", id_key=KEY)
    events = load_interactions(b"bsuid,at,kind\nDE.24817305912873645029,2026-01-01,read\n", name="i.csv", id_key=KEY)
    assert events.rows["customer_id"].tolist() == alone.rows["customer_id"].tolist()


def test_an_imported_phone_and_bsuid_pair_is_one_identity_for_the_webhooks(loaded, tmp_path):
    """A webhook naming only K1's BSUID finds K1 under the phone (the import recorded the pair)."""
    with open_store(tmp_path / "c.db") as store:
        write_customer_data(store, to_customer_data(loaded))
        with store.transaction() as conn:
            assert resolve_identity(conn, bsuid="DE.13491208655302741918", at=1) == "+491511234567"
            assert resolve_identity(conn, bsuid="DE.24817305912873645029", at=1) == "DE.24817305912873645029"


def test_a_customer_key_that_is_a_bsuid_is_masked_as_one():
    """Dashboards mask the ``phone`` column; for a BSUID-only customer it holds the BSUID."""
    assert mask_phone("DE.24817305912873645029") == mask_bsuid("DE.24817305912873645029") == "DE.2481**************29"
    assert mask_phones(pd.Series(["+491511234567", "DE.24817305912873645029"])).tolist() == [
        "+49151*****67",
        "DE.2481**************29",
    ]
