"""The send ledger: every campaign and send state, every transition, every SQL statement on the
``campaigns`` and ``sends`` tables, and the reports read from them. Nothing else reads or writes
those tables (``tests/core/ledger/test_ledger_sql_home.py`` keeps it so).

One row per recipient, written before any request is made::

                 ┌──────────── excluded(reason)   plan rule, send-time check, A/B holdout
                 │                                (a holdout member gets held_at when a message would have gone out)
    create ──> planned ──> in_flight ──> accepted ──> sent ──> delivered ──> read
                 │  ^         │  │          │          │
                 │  └─ retry ─┘  │          └──────────┴──> failed(code)   (webhook; 131049 = held by Meta)
                 │               ├──> failed(code)          (permanent API error)
                 │               └──> unknown ──> accepted/sent/…  (a recorded webhook settles it)
                 │                       └──> planned              (requeued for a resend)
                 └──> cancelled                                    (campaign cancelled before sending)

The sender moves rows through :mod:`.sends` (claim, record outcomes, recover, requeue, cancel);
Meta's statuses move them through :mod:`.transitions`, forward only: a status may only raise the
rank in :data:`.states.STATE_RANK` (``failed`` only before ``delivered``), ``failed``,
``excluded`` and ``cancelled`` are never left, a late earlier status only fills its empty time
column, and a repeated status changes nothing.
"""

from .buttons import TAP_COLUMNS, button_tap_rows
from .campaigns import (
    CATEGORIES,
    PLAN_COLUMNS,
    campaign_info,
    campaign_names,
    campaign_over,
    create_campaign,
    discard_unsent,
    find_campaign,
    import_campaigns,
    last_recorded,
    new_campaign_id,
    recipient_key,
    set_campaign_status,
    spec_of,
    to_epoch,
    update_spec,
)
from .cap import MARKETING_CAP_SECONDS, marketed_phones, marketed_since, template_recipients
from .errors import LedgerError
from .held import (
    HELD_RETRY_SECONDS,
    due_held_retries,
    held_count,
    held_customers,
    held_retry_at,
    requeue_due_held,
    set_held_retry,
)
from .leases import LEASE_SECONDS, acquire_lease, held_elsewhere, release_lease, renew_lease
from .reports import (
    campaign_rows,
    error_breakdown,
    marketing_read_history,
    reached_phones,
    resend_report,
    send_rows,
    send_table_columns,
    state_counts,
)
from .sends import (
    Outcome,
    SendRow,
    cancel_open,
    claim,
    counted_attempts_of_unknown,
    due_campaigns,
    import_sends,
    open_rows,
    pending_holdouts,
    pin_numbers,
    planned_sends,
    record_outcomes,
    recorded_arms,
    recover_in_flight,
    requeue,
    unknown_sends,
)
from .states import (
    ACCEPTED_STATES,
    AT_LEAST,
    ATTEMPTED_STATES,
    CAP_STATES,
    EXPOSED_STATES,
    FINAL_STATES,
    HELD_BY_META,
    HELD_LABEL,
    HOLDOUT,
    NOT_ATTEMPTED_STATES,
    OPEN_STATES,
    STATE_RANK,
    STATES,
    THROTTLED,
)
from .transitions import apply_status, moves_forward, reconcile_sends, reconcile_unknown

__all__ = [
    "TAP_COLUMNS",
    "button_tap_rows",
    "ACCEPTED_STATES",
    "AT_LEAST",
    "ATTEMPTED_STATES",
    "CAP_STATES",
    "CATEGORIES",
    "EXPOSED_STATES",
    "FINAL_STATES",
    "HELD_BY_META",
    "HELD_LABEL",
    "HELD_RETRY_SECONDS",
    "HOLDOUT",
    "LEASE_SECONDS",
    "LedgerError",
    "MARKETING_CAP_SECONDS",
    "NOT_ATTEMPTED_STATES",
    "OPEN_STATES",
    "Outcome",
    "PLAN_COLUMNS",
    "STATES",
    "STATE_RANK",
    "SendRow",
    "THROTTLED",
    "acquire_lease",
    "apply_status",
    "campaign_info",
    "campaign_names",
    "campaign_over",
    "campaign_rows",
    "cancel_open",
    "claim",
    "counted_attempts_of_unknown",
    "create_campaign",
    "discard_unsent",
    "due_campaigns",
    "due_held_retries",
    "error_breakdown",
    "find_campaign",
    "held_count",
    "held_customers",
    "held_elsewhere",
    "held_retry_at",
    "import_campaigns",
    "import_sends",
    "last_recorded",
    "marketed_phones",
    "marketed_since",
    "marketing_read_history",
    "moves_forward",
    "new_campaign_id",
    "open_rows",
    "pending_holdouts",
    "pin_numbers",
    "planned_sends",
    "reached_phones",
    "recipient_key",
    "reconcile_sends",
    "reconcile_unknown",
    "record_outcomes",
    "recorded_arms",
    "recover_in_flight",
    "release_lease",
    "renew_lease",
    "requeue",
    "requeue_due_held",
    "resend_report",
    "send_rows",
    "send_table_columns",
    "set_campaign_status",
    "set_held_retry",
    "spec_of",
    "state_counts",
    "template_recipients",
    "to_epoch",
    "unknown_sends",
    "update_spec",
]
