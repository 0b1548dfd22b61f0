"""Personal data kept out of what people see: masking in any column, ids that do not carry the phone."""

from __future__ import annotations

import os
import re

import numpy as np
import pandas as pd
import pytest

from wamkt_nb.data.privacy import KEY_FILE, customer_ids, mask_frame, mask_text, workspace_id_key
from wamkt_nb.data.sample import generate
from wamkt_nb.segments import segment_frame
from wamkt_nb.segments.preview import sample_members


@pytest.mark.parametrize(
    "text, shown",
    [
        ("ruf an: +491511234567!", "ruf an: +49151*****67!"),
        ("wa_id 491511234567", "wa_id 49151*****67"),  # WhatsApp's form without the plus
        ("+49 (152) 2345-6789", "+49 (152) ****-**89"),
        ("anna.mueller@example.com, +12125550100", "a***@example.com, +12125****00"),
    ],
)
def test_phone_numbers_and_addresses_inside_text_are_masked(text, shown):
    assert mask_text(text) == shown


@pytest.mark.parametrize("text", ["2025-05-01 14:30", "1,234.56", "order 12345678", "ts 1700000000", "K17", "+5.5 %"])
def test_dates_amounts_and_short_ids_stay_readable(text):
    assert mask_text(text) == text


def test_mask_frame_masks_every_column_and_keeps_the_rest():
    frame = pd.DataFrame(
        {
            "customer_id": pd.array(["+491511234567", "K2"], dtype="string"),
            "phone": ["0151 1234567", None],
            "email": ["anna@example.de", None],
            "note": ["call +436641234567", np.nan],
            "amount": [12.5, 3.0],
        }
    )
    out = mask_frame(frame)
    assert out["customer_id"].tolist() == ["+49151*****67", "K2"]
    assert out["phone"].tolist() == ["0151 1****67", ""]
    assert out["email"].tolist() == ["a***@example.de", ""]
    assert out.loc[0, "note"] == "call +43664*****67" and pd.isna(out.loc[1, "note"])
    assert out["amount"].tolist() == [12.5, 3.0] and frame.loc[0, "customer_id"] == "+491511234567"


def test_customer_ids_are_keyed_stable_and_do_not_show_the_number():
    phones = pd.Series(["+491511234567", None, "+491511234567", "+436641234567"], dtype="string")
    ids = customer_ids(phones, b"k" * 32)
    assert ids[0] == ids[2] != ids[3] and pd.isna(ids[1])
    assert all(re.fullmatch(r"c_[0-9a-f]{16}", i) for i in ids.dropna())
    assert customer_ids(phones, b"k" * 32).equals(ids)
    assert customer_ids(phones, b"x" * 32)[0] != ids[0]  # without the key nobody can recompute them


def test_the_workspace_key_is_created_once_owner_only(tmp_path):
    key = workspace_id_key(tmp_path / "ws")
    assert len(key) == 32 and workspace_id_key(tmp_path / "ws") == key
    assert os.stat(tmp_path / "ws" / KEY_FILE).st_mode & 0o777 == 0o600
    assert workspace_id_key(tmp_path / "other") != key
    assert sorted(p.name for p in (tmp_path / "ws").iterdir()) == [KEY_FILE]  # no temporary file left
    (tmp_path / "ws" / KEY_FILE).write_bytes(b"short")
    with pytest.raises(ValueError, match="damaged"):
        workspace_id_key(tmp_path / "ws")


def test_segment_sample_masks_a_phone_used_as_customer_id():
    customers = generate(60, seed=3).customers
    customers["customer_id"] = customers["phone"]  # an old file whose ids are phone numbers
    sample = sample_members(segment_frame(customers), np.ones(len(customers), bool), n=60)
    text = sample.to_string()
    assert len(sample) == 60 and not any(p in text or p[1:] in text for p in customers["phone"])
