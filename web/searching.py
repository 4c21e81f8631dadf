"""One search for both renderings: request args -> State -> SearchRequest -> SearchResult.

The page and the JSON API call `run` and render the same object; notices about the URL
itself (a page that is not a number, too many filters) are put into the result's notices,
so the API says what the page says.
"""

from __future__ import annotations

from dataclasses import replace

from .app import get_engine, get_settings
from .params import State, read_state


def run(args) -> tuple[State, object]:
    settings = get_settings()
    state, notices = read_state(args, settings)
    result = get_engine().search(state.request(settings))
    if notices:
        result = replace(result, notices=notices + [n for n in result.notices if n not in notices])
    return state, result
