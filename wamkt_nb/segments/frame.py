"""A features frame prepared once for fast, repeated rule evaluation (the builder's live count).

Columns are turned into plain numpy arrays on first use and kept: numbers as float64 with NaN,
times as int64 nanoseconds, strings and categories as codes into their distinct values (a string
test runs once per distinct value, not once per row), tags as one boolean array per tag. The
frame is treated as read-only; build a new ``SegmentFrame`` when the data changes.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict

import numpy as np
import pandas as pd

from ..data.features import TAGS
from .schema import FrameSchema

INACTIVE_TAG = "inactive_90d"


class SegmentFrame:
    """One features frame plus cached per-column arrays."""

    def __init__(
        self,
        frame: pd.DataFrame,
        id_column: str = "customer_id",
        tags_column: str = "tags",
        known_tags: tuple[str, ...] = TAGS,
    ) -> None:
        if id_column not in frame.columns:
            raise ValueError(f"the frame has no {id_column!r} column")
        self.frame = frame
        self.id_column = id_column
        self.tags_column = tags_column
        self.schema = FrameSchema.of(frame, tags_column, known_tags)
        self._cache: dict[tuple[str, str], object] = {}
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return len(self.frame)

    def _cached(self, key: tuple[str, str], build):
        with self._lock:
            if key not in self._cache:
                self._cache[key] = build()
            return self._cache[key]

    def numbers(self, column: str) -> np.ndarray:
        """float64 values, NaN where missing."""
        return self._cached(("num", column), lambda: self.frame[column].to_numpy(dtype="float64", na_value=np.nan))

    def times(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        """int64 nanoseconds since the epoch (UTC) and a present mask."""

        def build():
            values = pd.DatetimeIndex(self.frame[column])
            if values.tz is None:
                values = values.tz_localize("UTC")
            values = values.as_unit("ns")
            return values.asi8.copy(), ~np.asarray(values.isna())

        return self._cached(("time", column), build)

    def codes(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        """Codes into the distinct values (-1 where missing) and those values as an object array."""

        def build():
            series = self.frame[column]
            if isinstance(series.dtype, pd.CategoricalDtype):
                return series.cat.codes.to_numpy(), np.asarray(series.cat.categories.astype(str), dtype=object)
            codes, uniques = pd.factorize(series, use_na_sentinel=True)
            return codes, np.asarray(uniques, dtype=object)

        return self._cached(("codes", column), build)

    def bools(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        """Values and a present mask of a boolean column."""

        def build():
            series = self.frame[column]
            present = series.notna().to_numpy()
            return series.fillna(False).to_numpy(dtype=bool), present

        return self._cached(("bool", column), build)

    def tag(self, column: str, name: str) -> np.ndarray:
        """Whether each row carries tag ``name``."""
        codes, uniques = self._tag_codes(column)
        return self._cached(
            ("tag:" + name, column),
            lambda: np.append(np.fromiter((name in u for u in uniques), bool, len(uniques)), False)[codes],
        )

    def tags_state(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        """Present mask (not missing) and has-at-least-one-tag mask."""
        codes, uniques = self._tag_codes(column)
        nonempty = np.append(np.fromiter((len(u) > 0 for u in uniques), bool, len(uniques)), False)
        return codes >= 0, nonempty[codes]

    def _tag_codes(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        """Codes into the distinct tag sets (few: tags combine a handful of bands)."""

        def build():
            values = self.frame[column].to_numpy(dtype=object)
            if any(isinstance(v, (list, np.ndarray)) for v in values[:50]):
                values = np.array([None if v is None else tuple(v) for v in values], dtype=object)
            codes, uniques = pd.factorize(values, use_na_sentinel=True)
            sets = np.empty(len(uniques), dtype=object)
            sets[:] = [frozenset(u) for u in uniques]
            return codes, sets

        return self._cached(("tagcodes", column), build)

    def inactive(self) -> np.ndarray:
        """Rows tagged inactive for 90+ days (never messaged by marketing segments by default)."""
        if self.schema.kinds.get(self.tags_column) != "tags":
            return np.zeros(len(self.frame), dtype=bool)
        return self.tag(self.tags_column, INACTIVE_TAG)

    def ids(self) -> np.ndarray:
        return self._cached(("ids", self.id_column), lambda: self.frame[self.id_column].to_numpy(dtype=object))


_PREPARED: OrderedDict[int, tuple[weakref.ref, SegmentFrame]] = OrderedDict()
_PREPARED_LOCK = threading.Lock()
_KEEP = 4


def segment_frame(frame: pd.DataFrame | SegmentFrame) -> SegmentFrame:
    """The prepared form of ``frame``, reused for the last few frames evaluated."""
    if isinstance(frame, SegmentFrame):
        return frame
    key = id(frame)
    with _PREPARED_LOCK:
        entry = _PREPARED.get(key)
        if entry is not None and entry[0]() is frame:
            _PREPARED.move_to_end(key)
            return entry[1]
        prepared = SegmentFrame(frame)
        _PREPARED[key] = (weakref.ref(frame), prepared)
        while len(_PREPARED) > _KEEP:
            _PREPARED.popitem(last=False)
        return prepared
