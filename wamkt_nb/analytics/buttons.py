"""Per-button analytics: which quick-reply buttons the recipients of a campaign tapped.

Taps come from the recorded inbound messages (Meta reports a quick-reply tap as a ``button``
message answering the template, with the payload the business set); the ledger counts them per
button (:func:`wamkt_nb.ledger.buttons.button_tap_rows`). URL buttons and copy-code buttons are
not reported by Meta: a URL button's clicks are counted when its address is a tracked link
(``link_clicks``), a copied code only when it is used in an order.
"""

from __future__ import annotations

import pandas as pd

from ..ledger import state_counts
from ..ledger.buttons import TAP_COLUMNS, button_tap_rows
from ..store import Store

BUTTON_TAP_COLUMNS = ("campaign_id", "button", "payload", "taps", "customers", "tap_rate", "first_tap_at")
"""``button`` is the label the customer saw; ``tap_rate`` the share of delivered messages whose
recipient tapped this button (customers / delivered)."""


def button_taps(store: Store, campaign_id: str | None = None) -> pd.DataFrame:
    """Taps per button per campaign (one campaign or all), most tapped first within a campaign."""
    rows = pd.DataFrame(button_tap_rows(store, campaign_id), columns=list(TAP_COLUMNS))
    if rows.empty:
        return pd.DataFrame(
            {c: pd.Series(dtype="float64" if c == "tap_rate" else "object") for c in BUTTON_TAP_COLUMNS}
        )
    delivered = {
        cid: counts["delivered"] + counts["read"]
        for cid in rows["campaign_id"].unique()
        for counts in [state_counts(store, str(cid))]
    }
    reached = rows["campaign_id"].map(delivered).astype("float64")
    rows["tap_rate"] = (rows["customers"] / reached.where(reached > 0)).fillna(0.0)
    rows["first_tap_at"] = pd.to_datetime(rows["first_tap_at"], unit="s", utc=True)
    rows["taps"] = rows["taps"].astype("int64")
    rows["customers"] = rows["customers"].astype("int64")
    return rows.rename(columns={"label": "button"})[list(BUTTON_TAP_COLUMNS)].reset_index(drop=True)
