"""Campaign analytics: metrics as pandas DataFrames from the store, charts as matplotlib Figures."""

from ..inbox.service import conversations, service_summary
from .buttons import BUTTON_TAP_COLUMNS, button_taps
from .funnel import (
    EMAIL_READ_RATE,
    REPLY_WARNING_RATE,
    STAGES,
    enrich,
    failures,
    funnel,
    funnel_stages,
    reply_health,
)
from .journeys import STEP_COLUMNS, STEP_FUNNEL_COLUMNS, load_journey_steps, step_funnel
from .load import UNSEGMENTED, LedgerData, load_ledger, load_responses
from .metrics import MetricOptions, Metrics, compute_metrics, headline, priced_sends
from .money import ltv_monthly, monthly_costs, roi_per_message, send_costs
from .segments import GUIDE_SEGMENTATION, segment_comparison
from .timing import (
    DECAY_TITLE,
    PEAK_HOURS,
    PEAK_TITLE,
    WEEKDAYS,
    activity_heatmap,
    best_send_hours,
    peak_read_lift,
    read_rate_by_hour,
    reply_delay_minutes,
    reply_share_within,
    reply_time_decay,
)

__all__ = [
    "BUTTON_TAP_COLUMNS",
    "button_taps",
    "EMAIL_READ_RATE",
    "REPLY_WARNING_RATE",
    "STAGES",
    "enrich",
    "failures",
    "funnel",
    "funnel_stages",
    "reply_health",
    "STEP_COLUMNS",
    "STEP_FUNNEL_COLUMNS",
    "load_journey_steps",
    "step_funnel",
    "UNSEGMENTED",
    "LedgerData",
    "load_ledger",
    "load_responses",
    "MetricOptions",
    "Metrics",
    "compute_metrics",
    "headline",
    "priced_sends",
    "ltv_monthly",
    "send_costs",
    "monthly_costs",
    "roi_per_message",
    "GUIDE_SEGMENTATION",
    "segment_comparison",
    "conversations",
    "service_summary",
    "WEEKDAYS",
    "activity_heatmap",
    "best_send_hours",
    "reply_share_within",
    "reply_time_decay",
    "DECAY_TITLE",
    "PEAK_HOURS",
    "PEAK_TITLE",
    "peak_read_lift",
    "read_rate_by_hour",
    "reply_delay_minutes",
]
