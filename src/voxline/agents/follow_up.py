"""Elliptical follow-up questions made whole before retrieval (pure).

"And on Sundays?" after "When do you close on weekdays?" is "When do you close on Sundays?";
"And the Heron?" after "How much does the Kestrel cost?" is "How much does the Heron cost?";
"How much can it carry?" after an answer about the Heron asks about the Heron. A question that
names its own subject is left alone. Each question is resolved against the one before it as
resolved, so "And Saturdays?" after "And on Sundays?" still asks when the shop closes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from voxline.kb.answer import DAYS

_LEAD = re.compile(r"^\s*(and|also|so|what about|how about|what of|and what about)\b[\s,]*", re.I)
_PRONOUN = re.compile(r"\b(it|its|it's|they|them|their|that one|this one|that|this)\b", re.I)
# "it" is the thing talked about; "their", "that" name it only in a short question: in
# "Actually, did their part of getting into the showroom?" (a misheard "is there parking at
# the showroom?") "their" was made "the warranty" and the warranty answer read again.
_THING = re.compile(r"\b(it|its|it's|that one|this one)\b", re.I)
SHORT = 4  # words: a question this short leans on the one before
_DAY = (
    r"\b(?:(?:" + "|".join(DAYS) + r")s?(?:\s+(?:to|through|until)\s+(?:"
    + "|".join(DAYS) + r")s?)?|weekdays?|weekends?)\b"
)  # fmt: skip
_DAYS = re.compile(_DAY, re.I)
_CONTENT = re.compile(r"[A-Za-z']{3,}")
_SMALL = {"and", "also", "what", "about", "how", "the", "for", "you", "your", "there", "any"}


def _names(text: str, names: Sequence[str]) -> list[str]:
    return [n for n in names if re.search(rf"\b{re.escape(n)}\b", text, re.I)]


def _elliptical(question: str) -> bool:
    content = [w for w in _CONTENT.findall(question) if w.lower() not in _SMALL]
    return bool(_LEAD.match(question)) or len(content) <= 2 or bool(_PRONOUN.search(question))


def resolve(question: str, previous: str, answer: str, names: Sequence[str]) -> str:
    """``question`` made whole against the question and answer before it."""
    if not previous or not _elliptical(question):
        return question
    bare = _LEAD.sub("", question).strip().rstrip("?.! ")
    new_days = _DAYS.search(bare)
    if new_days and _DAYS.search(previous):
        return _DAYS.sub(new_days.group(0), previous, count=1)
    new_names, old_names = _names(bare, names), _names(previous, names)
    if new_names and old_names and set(new_names) != set(old_names):
        return re.sub(
            rf"\b{re.escape(old_names[0])}\b", new_names[0], previous, count=1, flags=re.I
        )
    short = len(bare.split()) <= SHORT
    pronoun = _PRONOUN if short else _THING
    if pronoun.search(bare) and not new_names:
        subject = (old_names or _names(answer, names) or [""])[0]
        if subject:
            return pronoun.sub(f"the {subject}", question, count=1)
    if new_names or not short:
        return question  # names its own subject, or says enough to stand alone
    return f"{previous.rstrip('?.! ')} {bare}?"


def resolve_follow_up(conversation: Sequence[dict[str, Any]], names: Sequence[str]) -> str:
    """The latest user question of ``conversation`` (chat messages), made whole."""
    previous, answer, resolved = "", "", ""
    for m in conversation:
        if m["role"] == "user":
            resolved = resolve(m["content"] or "", previous, answer, names)
            previous, answer = resolved, ""
        elif m["role"] == "assistant":
            answer = m["content"] or ""
    return resolved
