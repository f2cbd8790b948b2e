"""The slots of a tool's JSON schema, and the words that name their values (pure).

Every enum value of the schema, and the bot's synonyms for it, is a phrase; so is every item the
bot lists as not on the menu ("extra large", "anchovies"), which must win over the value inside
it ("large"). Phrases are found longest first on word boundaries: a word is a slot value only
when it was heard as that word or a listed synonym. Near misses are not matched here; they are
proposals (``phonetic.py``) that the dialog asks the caller to confirm.

A tool may take several items of one kind: an array property whose items are objects with the
same slots as the top level (``more_pizzas`` beside ``size``/``toppings``/``crust``) is the list
of further items, so one item is the plain call and several add that list.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_CLEAN = re.compile(r"[^a-z0-9' ]+")


def clean(text: str) -> str:
    text = text.lower().replace("-", " ").replace("ñ", "n").replace("’", "'")
    return " ".join(_CLEAN.sub(" ", text).split())


def words(text: str) -> list[str]:
    return clean(text).split()


@dataclass(frozen=True)
class Slot:
    name: str
    values: tuple[str, ...]  # enum values; empty for a pattern slot
    many: bool  # an array of enum values (toppings) rather than one value (size)
    required: bool
    pattern: str = ""  # a string slot checked by a regular expression (a zip code)
    description: str = ""

    @property
    def label(self) -> str:
        return self.name.replace("_", " ")


@dataclass(frozen=True)
class FormSchema:
    slots: tuple[Slot, ...]
    more: str = ""  # the array property holding further items, if the tool takes several
    item_names: frozenset[str] = frozenset()  # the slots of one item (all, without ``more``)

    def slot(self, name: str) -> Slot | None:
        return next((s for s in self.slots if s.name == name), None)

    @property
    def enum_slots(self) -> tuple[Slot, ...]:
        return tuple(s for s in self.slots if s.values)


def _slots(properties: Mapping[str, Any], required: set[str]) -> list[Slot]:
    slots = []
    for name, prop in properties.items():
        items = prop.get("items") or {}
        desc = str(prop.get("description", ""))
        if prop.get("type") == "array" and "enum" in items:
            slots.append(Slot(name, tuple(items["enum"]), True, name in required, "", desc))
        elif "enum" in prop:
            slots.append(Slot(name, tuple(prop["enum"]), False, name in required, "", desc))
        elif prop.get("type") == "string" and prop.get("pattern"):
            slots.append(Slot(name, (), False, name in required, prop["pattern"], desc))
    return slots


def form_schema(schema: Mapping[str, Any]) -> FormSchema:
    properties = schema.get("properties") or {}
    slots = _slots(properties, set(schema.get("required", ())))
    names = {s.name for s in slots}
    for name, prop in properties.items():
        item = prop.get("items") or {}
        fields = set(item.get("properties") or {})
        if prop.get("type") == "array" and item.get("type") == "object" and fields <= names:
            return FormSchema(tuple(slots), name, frozenset(fields))
    return FormSchema(tuple(slots), "", frozenset(names))


@dataclass(frozen=True)
class Target:
    slot: str
    value: str | None  # None: an item we do not have (``phrase`` says which)
    phrase: str


@dataclass(frozen=True)
class Mention:
    """A phrase found at tokens ``start:end`` of the utterance."""

    start: int
    end: int
    targets: tuple[Target, ...]  # one, or several when the phrase names values of two slots


def _forms(phrase: str) -> set[str]:
    """A phrase and its plural or singular ("mushroom" / "mushrooms")."""
    forms = {phrase}
    if phrase.endswith("s") and len(phrase) > 3:
        forms.add(phrase[:-1])
    else:
        forms.add(phrase + "s")
    return forms


class Lexicon:
    """Phrases of the slot values, the bot's synonyms and the items not on the menu."""

    def __init__(
        self,
        schema: FormSchema,
        synonyms: Mapping[str, list[str]] | None = None,
        not_on_menu: Mapping[str, list[str]] | None = None,
    ) -> None:
        self.schema = schema
        self._table: dict[tuple[str, ...], list[Target]] = {}
        for slot in schema.enum_slots:
            for value in slot.values:
                for phrase in (value, *((synonyms or {}).get(value) or ())):
                    for form in _forms(clean(str(phrase))):
                        self._add(form, Target(slot.name, value, form))
        for slot_name, phrases in (not_on_menu or {}).items():
            if schema.slot(slot_name) is None:
                raise ValueError(f"form.not_on_menu: {slot_name!r} is not a slot of the tool")
            for phrase in phrases:
                key = clean(str(phrase))
                self._table[tuple(key.split())] = [Target(slot_name, None, key)]
        self._longest = max((len(k) for k in self._table), default=1)

    def _add(self, phrase: str, target: Target) -> None:
        key = tuple(phrase.split())
        if key and all(t.slot != target.slot for t in self._table.get(key, [])):
            self._table.setdefault(key, []).append(target)

    def phrases_of(self, slot: str, value: str) -> list[str]:
        return [" ".join(k) for k, ts in self._table.items() if (slot, value) in _pairs(ts)]

    def find(self, tokens: list[str]) -> list[Mention]:
        """Non-overlapping mentions, left to right, the longest phrase first at each place."""
        found: list[Mention] = []
        i = 0
        while i < len(tokens):
            for n in range(min(self._longest, len(tokens) - i), 0, -1):
                targets = self._table.get(tuple(tokens[i : i + n]))
                if targets:
                    found.append(Mention(i, i + n, tuple(targets)))
                    i += n
                    break
            else:
                i += 1
        return found


def _pairs(targets: list[Target]) -> set[tuple[str, str | None]]:
    return {(t.slot, t.value) for t in targets}
