"""Segments: a JSON rule model, identical pandas and SQL evaluation, presets, saved segments.

Build a rule from ``Condition``/``And``/``Or``/``Not``, then ``evaluate(rule, features, now)``
(pandas) or ``SqlEvaluator(features).evaluate(rule, now)`` (DuckDB); both drop customers
inactive for 90+ days unless ``include_inactive=True`` and say how many they dropped.
"""

from .compare import compare_segments, evaluate_saved, overlap_counts
from .describe import describe
from .engagement import add_engagement, engagement_condition, with_engagement
from .evaluation import SegmentResult, evaluate, rule_mask
from .frame import SegmentFrame, segment_frame
from .presets import PRESETS, Preset, preset
from .regex import RegexError
from .rules import OPERATORS, And, Condition, Node, Not, Or, SegmentRuleError, from_dict, from_json, to_json
from .saved import SavedSegment, delete_segment, list_segments, load_segment, save_segment
from .schema import KIND_OPS, FrameSchema, check_rule
from .sql import DIALECTS, SqlEvaluator, SqlPredicate, inline_sql, segment_query, to_sql

__all__ = [
    "And",
    "Condition",
    "FrameSchema",
    "KIND_OPS",
    "Node",
    "Not",
    "OPERATORS",
    "Or",
    "PRESETS",
    "Preset",
    "RegexError",
    "SegmentRuleError",
    "SavedSegment",
    "SegmentFrame",
    "SegmentResult",
    "DIALECTS",
    "SqlEvaluator",
    "SqlPredicate",
    "check_rule",
    "compare_segments",
    "delete_segment",
    "describe",
    "evaluate",
    "evaluate_saved",
    "from_dict",
    "from_json",
    "list_segments",
    "load_segment",
    "overlap_counts",
    "preset",
    "rule_mask",
    "save_segment",
    "segment_frame",
    "inline_sql",
    "segment_query",
    "to_json",
    "to_sql",
    "add_engagement",
    "engagement_condition",
    "with_engagement",
]
