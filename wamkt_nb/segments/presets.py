"""Ready-made segments from the WhatsApp marketing guide, 2024: purchase frequency, order value and
interaction recency.

"High order value" means an average order of 50 or more (the guide's bands are under 50 and
50-200+). Inactive-90-day customers are excluded from marketing segments by default; only the
"inactive 90 days" preset, which exists to look at them, includes them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .rules import And, Condition, Node


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    rule: Node
    include_inactive: bool = False


FREQUENT_BUYERS = Condition("tags", "has_any", ("frequent_buyer",))
HIGH_ORDER_VALUE = Condition("tags", "has_any", ("aov_50_200", "aov_over_200"))
ACTIVE_7D = Condition("tags", "has_any", ("active_7d",))
DORMANT_30D = Condition("tags", "has_any", ("dormant_30d",))
INACTIVE_90D = Condition("tags", "has_any", ("inactive_90d",))

PRESETS: dict[str, Preset] = {
    p.key: p
    for p in (
        Preset("frequent_buyers", "Frequent buyers", And(FREQUENT_BUYERS)),
        Preset("high_order_value", "High order value (50+)", And(HIGH_ORDER_VALUE)),
        Preset("active_7d", "Active in the last 7 days", And(ACTIVE_7D)),
        Preset("dormant_30d", "Dormant 30 days", And(DORMANT_30D)),
        Preset("inactive_90d", "Inactive 90 days", And(INACTIVE_90D), include_inactive=True),
        Preset("high_value_active_7d", "High order value + active 7 days", And(HIGH_ORDER_VALUE, ACTIVE_7D)),
    )
}


def preset(key: str) -> Preset:
    try:
        return PRESETS[key]
    except KeyError:
        raise KeyError(f"no preset {key!r}; known: {', '.join(PRESETS)}") from None
