"""What a caller who knows the order it wants says to the bot's questions about it.

An ``answer`` step's rules cover the questions its scenario's author foresaw ("Shall I place
the order?"); a bot that meets a misheard word with a question of its own ("Which crust would
you like?", "Did you say stuffed crust?", "Pineapple and what else?") would otherwise get no
answer, and the scenario would end with no order where a bot that guessed wrong placed a wrong
one: both fail, but only one did what a caller wants. So, where no rule matches, the caller
answers from the scenario's wanted ``order``, as a person ordering a pizza would.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from voxline.agents.phrasing import spoken_list
from voxline.testbench.words import normalize, phrase_at

PREFIX = 4  # letters two words share to count as one: the ear's "stuff crust" is "stuffed"


def answer_from_order(order: Mapping[str, Any] | None, said: list[str]) -> str:
    """The caller's answer to the bot's reply ``said`` (normalized words), or "" if the reply
    asks nothing about the order."""
    if not order:
        return ""
    if (at := phrase_at("did you say", said)) >= 0:
        named = said[at + 3 :]
        return "Yes." if any(_named(v, named) for v in _values(order)) else "No."
    if phrase_at("what else", said) >= 0:
        lists = [v for v in order.values() if isinstance(v, list)]
        left = [str(v) for vs in lists for v in vs if not _named(str(v), said)]
        return f"{spoken_list(left).capitalize()}." if left else "That's all."
    asked = max(order, key=lambda slot: _last_mention(slot, said))
    if _last_mention(asked, said) < 0:
        return ""
    return f"{_phrase(asked, order[asked]).capitalize()}."


def answers(order: Mapping[str, Any] | None) -> list[str]:
    """Every line ``answer_from_order`` may say for ``order``: rendered before the call."""
    if not order:
        return []
    lists = [str(v) for vs in order.values() if isinstance(vs, list) for v in vs]
    out = ["Yes.", "No.", "That's all."]
    out += [f"{_phrase(slot, value).capitalize()}." for slot, value in order.items()]
    # "what else": what is left, most often one value or the list's tail
    out += [f"{v.capitalize()}." for v in lists]
    out += [f"{spoken_list(lists[i:]).capitalize()}." for i in range(1, len(lists))]
    return list(dict.fromkeys(out))


def _values(order: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for value in order.values():
        out += [str(v) for v in value] if isinstance(value, list) else [str(value)]
    return out


def _named(value: str, said: list[str]) -> bool:
    """Whether every word of ``value`` is in ``said``, a shared first ``PREFIX`` letters
    counting (short words whole)."""
    return all(
        any(w == v or (len(v) > PREFIX and w[:PREFIX] == v[:PREFIX]) for w in said)
        for v in normalize(value)
    )


def _last_mention(slot: str, said: list[str]) -> int:
    """Where the reply last names ``slot`` ("crust", "toppings", "size"): its question ends
    the reply, after the menu it may read out."""
    return phrase_at(slot.rstrip("s"), said)


def _phrase(slot: str, value: Any) -> str:
    if isinstance(value, list):
        return spoken_list([str(v) for v in value]) if value else f"no {slot}"
    noun = slot.rstrip("s")
    return f"{value} {noun}" if noun != "size" else str(value)
