"""Slot values from what a caller said, driven by a tool's JSON schema (pure).

Every enum value of the schema, and the bot's synonyms and common mis-hearings for it, is a
phrase. Phrases are matched longest first on word boundaries, close mis-spellings are caught
by a similarity check, and "no onions" / "without onions" remove a list item.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_NEGATIONS = ("no", "without", "not", "hold the", "minus", "remove", "take off", "skip the")
_CLEAN = re.compile(r"[^a-z0-9' ]+")


def clean(text: str) -> str:
    text = text.lower().replace("-", " ").replace("ñ", "n")
    return " ".join(_CLEAN.sub(" ", text).split())


@dataclass(frozen=True)
class Slot:
    name: str
    values: tuple[str, ...]
    many: bool  # an array of enum values (toppings) rather than one value (size)
    required: bool


@dataclass
class Update:
    """What one utterance says about the slots."""

    set: dict[str, str] = field(default_factory=dict)
    add: dict[str, list[str]] = field(default_factory=dict)
    remove: dict[str, list[str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.set or self.add or self.remove)


def slots_from_schema(schema: Mapping[str, Any]) -> list[Slot]:
    required = set(schema.get("required", ()))
    slots = []
    for name, prop in (schema.get("properties") or {}).items():
        if prop.get("type") == "array" and "enum" in (prop.get("items") or {}):
            slots.append(Slot(name, tuple(prop["items"]["enum"]), True, name in required))
        elif "enum" in prop:
            slots.append(Slot(name, tuple(prop["enum"]), False, name in required))
    return slots


class SlotExtractor:
    def __init__(self, slots: list[Slot], synonyms: Mapping[str, list[str]] | None = None):
        self.slots = {s.name: s for s in slots}
        self._phrases: dict[str, list[tuple[str, str]]] = {}  # phrase -> [(slot, value)]
        for slot in slots:
            for value in slot.values:
                for phrase in (value, *((synonyms or {}).get(value) or ())):
                    key = clean(str(phrase))
                    if key and (slot.name, value) not in self._phrases.get(key, []):
                        self._phrases.setdefault(key, []).append((slot.name, value))
        ordered = sorted(self._phrases, key=lambda p: (-len(p.split()), -len(p)))
        self._pattern = re.compile(r"\b(" + "|".join(re.escape(p) for p in ordered) + r")\b")
        self._single = [p for p in self._phrases if " " not in p and len(p) >= 5]

    def extract(self, text: str, focus: str | None = None) -> Update:
        """Slot values in ``text``; ``focus`` (the slot just asked for) settles ambiguity."""
        said = clean(text)
        found: list[tuple[int, list[tuple[str, str]]]] = []
        consumed = [False] * len(said)
        for m in self._pattern.finditer(said):
            found.append((m.start(), self._phrases[m.group(1)]))
            consumed[m.start() : m.end()] = [True] * (m.end() - m.start())
        # Mis-hearings the synonym list does not know ("pepperony"), word by word.
        for m in re.finditer(r"[a-z']{5,}", said):
            if any(consumed[m.start() : m.end()]):
                continue
            close = difflib.get_close_matches(m.group(0), self._single, n=1, cutoff=0.84)
            if close:
                found.append((m.start(), self._phrases[close[0]]))
        update = Update()
        for at, targets in sorted(found, key=lambda f: f[0]):
            self._apply(update, said, at, targets, focus)
        return update

    def _apply(
        self, update: Update, said: str, at: int, targets: list[tuple[str, str]], focus: str | None
    ) -> None:
        if len(targets) > 1:
            preferred = [t for t in targets if t[0] == focus]
            targets = preferred or targets[:1]
        name, value = targets[0]
        if self.slots[name].many:
            before = said[max(0, at - 24) : at]
            negated = any(re.search(rf"\b{n}\s+(\w+\s+)?$", before) for n in _NEGATIONS)
            bucket = update.remove if negated else update.add
            if value not in bucket.setdefault(name, []):
                bucket[name].append(value)
        else:
            update.set[name] = value  # the last mention wins: "large, no, make it medium"
