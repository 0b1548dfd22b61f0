"""Text normalisation for keyword matching: "RABATT!", "rabatt" and "Rábatt?" all read "rabatt"."""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalize_text(text: str | None) -> str:
    """Case-folded, accents removed, punctuation and extra spaces dropped (words kept apart by one space)."""
    if not text:
        return ""
    # Fold case after decomposing too: compatibility forms such as "₨" decompose to capitals ("Rs").
    decomposed = unicodedata.normalize("NFKD", text.casefold()).casefold()
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_WORD.sub(" ", stripped).strip()
