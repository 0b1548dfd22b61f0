"""Hypothesis strategies for fuzzing a JSON endpoint: valid bodies with a few nodes broken.

Purely random JSON rarely gets past the first checks of an endpoint; a valid body with one to three
nodes replaced by any JSON value (or dropped) reaches the deep ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hypothesis import strategies as st


def _paths(node: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every place in a JSON tree (dict keys, list indexes), the root included."""
    yield prefix
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        yield from _paths(child, (*prefix, key))


def _at(node: Any, path: tuple) -> Any:
    for key in path:
        node = node[key]
    return node


def _replaced(node: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    copy = dict(node) if isinstance(node, dict) else list(node)
    copy[path[0]] = _replaced(node[path[0]], path[1:], value)
    return copy


@st.composite
def mutated(draw, bodies: list[Any], values: st.SearchStrategy) -> Any:
    """One of ``bodies`` with one to three nodes below the root replaced by a ``values`` draw or dropped."""
    body = draw(st.sampled_from(bodies))
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 3]))):
        paths = list(_paths(body))[1:]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _at(body, path[:-1])
        if isinstance(parent, dict) and draw(st.booleans()):
            body = _replaced(body, path[:-1], {k: v for k, v in parent.items() if k != path[-1]})
        else:
            body = _replaced(body, path, draw(values))
    return body
