"""What one caller utterance says, read against the slots (pure).

The reading holds the dialog acts (yes, no, cancel, read back, repeat, goodbye, menu and price
questions), the slot changes grouped into items ("two large, one ham and pineapple, one bacon"
is two large pizzas with their own toppings), references to items already ordered ("the bacon
one", "the second pizza", "both"), items we do not have, near misses to confirm, and pattern
slots (a zip code, from keypad digits or spoken ones). It decides nothing: ``dialog.py`` does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from voxline.agents.acts import (
    BYE,
    CANCEL,
    CHANGE,
    DONE,
    MENU,
    NEW_ITEM,
    NO,
    NONE,
    PRICE,
    READBACK,
    REPEAT,
    RESTART,
    YES,
    phrases,
)
from voxline.agents.order import Order
from voxline.agents.phonetic import Proposal, propose
from voxline.agents.slots import FormSchema, Lexicon, Mention, Target, clean
from voxline.agents.spoken_digits import digits_in
from voxline.function_words import FUNCTION_WORDS

_COUNTS = {"a": 1, "an": 1, "one": 1, "two": 2, "too": 2, "three": 3, "four": 4, "five": 5}
_COUNTS["another"] = 1
_EXPLICIT = {"one", "two", "too", "three", "four", "five", "another"}
_NEGATORS = phrases(
    "no", "without", "not", "hold", "minus", "remove", "take off", "skip", "except", "instead of",
    "rid of", "leave off", "drop", "no more", "don't", "dont", "lose", "remove the",
)  # fmt: skip
_POSITIVE = {
    "add", "with", "and", "plus", "extra", "also", "make", "want", "get", "like", "put",
    "just", "only",  # "no, just pineapple" keeps it
}  # fmt: skip
_SKIP_BACK = {"the", "any", "extra", "more", "those", "all", "my", "some", "of"}
_ORDINALS = {"first": 0, "second": 1, "third": 2, "fourth": 3, "last": -1}


@dataclass
class Part:
    """One item's worth of slot changes."""

    count: int = 1
    explicit: bool = False  # started by a count word ("one ham", "two large")
    set: dict[str, str] = field(default_factory=dict)
    add: dict[str, list[str]] = field(default_factory=dict)
    remove: dict[str, list[str]] = field(default_factory=dict)
    empty: list[str] = field(default_factory=list)  # many-slots said to be empty ("no toppings")
    at: int = 0  # the token it starts at
    ref: list[int] | None = None  # the items it is about ("thin for the ham one")

    def __bool__(self) -> bool:
        return bool(self.set or self.add or self.remove or self.empty)

    def slots(self) -> set[str]:
        return set(self.set) | set(self.add) | set(self.remove) | set(self.empty)


@dataclass
class Reading:
    text: str
    parts: list[Part] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)  # order-level slots (patterns, enums)
    refs: list[int] | None = None  # the items a change is about; None: not said
    ref_at: list[tuple[int, list[int]]] = field(default_factory=list)  # (token, items) said
    new_item: bool = False
    off_menu: list[Target] = field(default_factory=list)
    asked_about: list[str] = field(default_factory=list)  # slots a menu question names
    slots_named: list[str] = field(default_factory=list)  # slots named by their own name
    gaps: list[tuple[str, str]] = field(default_factory=list)  # (slot, value) "and" left alone
    named: list[tuple[str, str]] = field(default_factory=list)  # every value heard (slot, value)
    proposals: list[Proposal] = field(default_factory=list)
    acts: set[str] = field(default_factory=set)

    @property
    def changes(self) -> bool:
        return bool(self.fields) or any(self.parts)


class Reader:
    def __init__(
        self,
        schema: FormSchema,
        lexicon: Lexicon,
        item_noun: str = "item",
        heads: Mapping[str, set[str]] | None = None,
    ) -> None:
        self.schema = schema
        self.lexicon = lexicon
        self.noun = item_noun
        self.heads = heads or {s.name: {s.name, s.name.rstrip("s")} for s in schema.slots}

    def read(self, text: str, focus: str | None, draft: Order) -> Reading:
        said = clean(text)
        tokens = said.split()
        r = Reading(said)
        for name, rx in (
            ("yes", YES), ("no", NO), ("cancel", CANCEL), ("restart", RESTART),
            ("readback", READBACK), ("repeat", REPEAT), ("done", DONE), ("bye", BYE),
            ("menu", MENU), ("price", PRICE), ("change", CHANGE),
        ):  # fmt: skip
            if rx.search(said):
                r.acts.add(name)
        if self.noun in tokens or self.noun + "s" in tokens:
            r.acts.add("item")  # "I'd like a pizza": a start, if nothing more
        if "readback" in r.acts:
            r.acts -= {"repeat", "menu"}
        r.slots_named = [
            slot.name
            for slot in self.schema.enum_slots
            if {slot.name, slot.name.rstrip("s"), slot.name.rstrip("s") + "s"} & set(tokens)
        ]
        mentions = [m for m in self.lexicon.find(tokens) if not self._heads_other(m, tokens)]
        self._patterns(r, text, said, focus)
        mentions = self._references(r, tokens, mentions, draft)
        r.off_menu = [t for m in mentions for t in m.targets if t.value is None]
        real = [m for m in mentions if any(t.value for t in m.targets)]
        if _is_question(said) and not r.off_menu:
            r.off_menu = self._unknown_kinds(tokens, mentions, real, focus)
        r.named = [
            (t.slot, t.value)
            for m in real
            for t in [self._choose(m, focus, draft, None)]
            if t.value is not None
        ]
        if "menu" in r.acts or "price" in r.acts:
            r.asked_about = [
                s.name
                for s in self.schema.enum_slots
                if s.name.rstrip("s") in said
                or any(t.slot == s.name for m in real for t in m.targets)
            ]
            if _is_question(said) and not r.acts & {"change"}:
                # "do you have mushrooms?" asks; it does not order
                r.proposals = []
                return r
        self._parts(r, tokens, real, focus, draft)
        for name in [n for n in r.fields if n in self.schema.item_names]:
            if not r.parts:
                r.parts.append(Part())
            r.parts[0].set[name] = r.fields.pop(name)
        r.new_item = bool(NEW_ITEM.search(said)) or any(p.count > 1 for p in r.parts)
        r.proposals = propose(tokens, mentions, self.lexicon, focus, self.heads)
        slot = self.schema.slot(focus or "")
        if slot and slot.many and NONE.search(said) and not any(p.add for p in r.parts):
            if not r.parts:
                r.parts.append(Part())
            r.parts[0].empty.append(slot.name)
        return r

    def _unknown_kinds(
        self, tokens: list[str], mentions: list[Mention], real: list[Mention], focus: str | None
    ) -> list[Target]:
        """A kind the menu does not know, asked about: "do you do a free crust?" (a misheard
        "gluten free") names the crust's noun with words before it that name no crust, sound
        like none and are not in the not-on-menu list. Only a noun of one slot ("crust", not
        "pizza"), so the answer can say what there is instead."""
        owners: dict[str, list[str]] = {}
        for slot, nouns in self.heads.items():
            for noun in nouns:
                owners.setdefault(noun, []).append(slot)
        named = {t.slot for m in real for t in m.targets}
        near = {p.slot for p in propose(tokens, mentions, self.lexicon, focus, self.heads)}
        out = []
        for at, token in enumerate(tokens):
            slots = owners.get(token, [])
            if len(slots) != 1 or slots[0] in named | near or self.schema.slot(slots[0]) is None:
                continue
            start = at
            while (
                start > 0
                and tokens[start - 1].isalpha()
                and tokens[start - 1] not in FUNCTION_WORDS
            ):
                start -= 1
            if start < at:
                out.append(Target(slots[0], None, " ".join(tokens[start : at + 1])))
        return out

    def _heads_other(self, m: Mention, tokens: list[str]) -> bool:
        """A one-value word right before another slot's noun describes that slot, not its
        own: "big crust" (a misheard "thick crust") is no size."""
        after = tokens[m.end] if m.end < len(tokens) else ""
        own = {t.slot for t in m.targets}
        if not after or any(after in self.heads.get(name, ()) for name in own):
            return False  # "large pizza": its own noun
        if any((s := self.schema.slot(name)) and s.many for name in own):
            return False  # "pepperoni crust": a list word is kept
        return any(after in heads for heads in self.heads.values())

    def _patterns(self, r: Reading, text: str, said: str, focus: str | None) -> None:
        for slot in self.schema.slots:
            if not slot.pattern:
                continue
            named = slot.label in said or (slot.description and clean(slot.description) in said)
            if focus != slot.name and not named:
                continue
            for run in digits_in(text):
                if re.search(slot.pattern, run):
                    r.fields[slot.name] = run
                    break

    def _references(
        self, r: Reading, tokens: list[str], mentions: list[Mention], draft: Order
    ) -> list[Mention]:
        """Take out the words that point at items already ordered ("the ham one")."""
        n = len(draft.items)
        text = " ".join(tokens)
        if n < 2:
            return mentions
        if re.search(r"\b(both|all of them|all the|each|all (\w+ )?(pizzas|of them))\b", text):
            r.refs = list(range(n))
        for word, index in _ORDINALS.items():
            if re.search(rf"\bthe {word}\b", text) and -n <= index < n:
                r.refs = [index % n]
        keep = []
        for m in mentions:
            before = tokens[max(0, m.start - 2) : m.start]
            after = tokens[m.end : m.end + 1]
            pointing = before[-1:] == ["the"] and (
                after in ([self.noun], ["one"])
                or (len(before) > 1 and before[0] in ("to", "on", "for", "from"))
            )
            values = [(t.slot, t.value) for t in m.targets if t.value]
            hits = [
                i
                for i, item in enumerate(draft.items)
                for slot, value in values
                if value == item.get(slot) or value in (item.get(slot) or ())
            ]
            if pointing and hits:
                r.refs = sorted(set(hits))
                r.ref_at.append((m.start, r.refs))
                continue
            keep.append(m)
        return keep

    def _parts(
        self,
        r: Reading,
        tokens: list[str],
        mentions: list[Mention],
        focus: str | None,
        draft: Order,
    ) -> None:
        parts: list[Part] = []
        prev_end = 0
        for m in mentions:
            target = self._choose(m, focus, draft, parts[-1] if parts else None)
            slot = self.schema.slot(target.slot)
            assert slot is not None and target.value is not None
            count_word = _count_before(tokens, m.start)
            if count_word == "one" and m.start >= 3 and prev_end == m.start - 2:
                count_word = None  # "a big one with pepperoni": "one" is the pizza, not a count
            cur = parts[-1] if parts else None
            if slot.name not in self.schema.item_names:
                r.fields[slot.name] = target.value
                continue
            starts = cur is None or (
                count_word is not None
                and bool(cur)
                and (count_word in _EXPLICIT or (not slot.many and slot.name in cur.set))
            )
            if starts and cur is not None and _corrects(tokens, prev_end, m.start):
                starts = False  # "medium, no wait, make it a large": the last mention wins
            if not starts and cur is not None and not slot.many and slot.name in cur.set:
                # "a large pepperoni and small mushroom": a second size after "and" is a second
                # item; otherwise the last mention wins ("large, no, make it medium").
                starts = (
                    tokens[m.start - 1 : m.start] == ["and"] and cur.set[slot.name] != target.value
                )
            if starts:
                count = _COUNTS.get(count_word or "", 1)
                parts.append(Part(count=count, explicit=count_word in _EXPLICIT, at=m.start))
            part = parts[-1]
            negated = slot.many and _negated(tokens, max(prev_end, m.start - 4), m.start, m.end)
            prev_end = m.end
            if slot.many and not negated and _gap_beside(tokens, m.start, m.end):
                r.gaps.append((slot.name, target.value))
            if slot.many:
                bucket = part.remove if negated else part.add
                if target.value not in bucket.setdefault(slot.name, []):
                    bucket[slot.name].append(target.value)
                other = part.add if bucket is part.remove else part.remove
                if target.value in other.get(slot.name, []):
                    other[slot.name].remove(target.value)
            else:
                part.set[slot.name] = target.value
        _swaps(tokens, parts)
        if len(r.ref_at) > 1:  # "thick for the pepperoni one and thin for the mushroom one"
            for i, p in enumerate(parts):
                end = parts[i + 1].at if i + 1 < len(parts) else len(tokens)
                p.ref = next((items for at, items in r.ref_at if p.at <= at < end), None)
        parts = _distribute([p for p in parts if p])
        if len(parts) > 1 and re.search(r"\b(both|all of them|each|all)\b", " ".join(tokens)):
            _share(parts)  # "a large pepperoni and a small mushroom, both thin crust"
        r.parts = parts

    def _choose(self, m: Mention, focus: str | None, draft: Order, cur: Part | None) -> Target:
        """A phrase naming values of two slots ("regular"): the one asked about, else one the
        item still lacks."""
        targets = [t for t in m.targets if t.value]
        if len(targets) == 1:
            return targets[0]
        for t in targets:
            if t.slot == focus:
                return t
        items = draft.items or [{}]
        for t in targets:
            if all(t.slot not in item for item in items) and not (cur and t.slot in cur.set):
                return t
        return targets[-1]


_QUESTION = re.compile(
    r"^(what|which|do you|does|is there|are there|have you|how much|what's|whats|can you tell)"
)


def _is_question(said: str) -> bool:
    return bool(_QUESTION.match(said))


def _count_before(tokens: list[str], at: int) -> str | None:
    for back in (1, 2):
        if at - back < 0:
            return None
        word = tokens[at - back]
        if word in _COUNTS:
            return word
        if word not in ("more", "of", "the", "other", "with"):
            return None
    return None


_CORRECTIONS = frozenset(
    ("no", "wait", "actually", "make", "sorry", "mean", "rather", "change", "instead", "scratch")
)


# Words a list's "and" may not go on to: a value the recognizer lost sat between them.
_AFTER_LOST = frozenset(["on", "in", "with", "for", "please", "thanks", "and"])


def _gap_beside(tokens: list[str], start: int, end: int) -> bool:
    """A list value with an "and" beside it and no value on the and's other side: "pineapple
    and on regular crust", "with and pineapple" (whisper tiny lost "ham" so, in both
    orders). The caller is asked for the rest, not the value dropped unsaid."""
    after = tokens[end : end + 2]
    if after[:1] == ["and"] and (len(after) == 1 or after[1] in _AFTER_LOST):
        return True
    return start >= 2 and tokens[start - 1] == "and" and tokens[start - 2] in ("with", "of")


def _corrects(tokens: list[str], start: int, end: int) -> bool:
    return any(t in _CORRECTIONS for t in tokens[start:end])


def _share(parts: list[Part]) -> None:
    """One-value slots said once, for the items that lack them."""
    for p in parts:
        for name, value in p.set.items():
            for other in parts:
                other.set.setdefault(name, value)


def _negated(tokens: list[str], floor: int, start: int, end: int) -> bool:
    """A removal: "no onions", "without the ham", "take the mushrooms off". ``floor``: the
    end of the mention before, which a negation does not reach across."""
    i = start - 1
    seen: list[str] = []
    while i >= floor and len(seen) < 4:
        word = tokens[i]
        if word in _POSITIVE:
            return False
        seen.insert(0, word)
        if _NEGATORS.search(" ".join(seen)):
            return True
        if word not in _SKIP_BACK and len(seen) > 2:
            break
        i -= 1
    after = tokens[end : end + 1]
    return after == ["off"] and any(
        w in ("take", "leave", "pull") for w in tokens[max(0, start - 4) : start]
    )


_SWAP = re.compile(r"\b(change|swap|replace|switch)\b")


def _swaps(tokens: list[str], parts: list[Part]) -> None:
    """ "change the ham to bacon": the first of the two is taken off."""
    text = " ".join(tokens)
    if not _SWAP.search(text) or not parts:
        return
    part = parts[-1]
    for name, added in list(part.add.items()):
        if len(added) == 2:
            first = added[0]
            part.add[name] = [added[1]]
            part.remove.setdefault(name, []).append(first)


def _distribute(parts: list[Part]) -> list[Part]:
    """ "two large, one ham and pineapple, one bacon": the group's values go to each of its
    items, and the parts that follow with "one ..." fill them in turn."""
    out: list[Part] = []
    i = 0
    while i < len(parts):
        p = parts[i]
        if p.count > 1:
            group = [_copy(p) for _ in range(p.count)]
            j = i + 1
            k = 0
            while j < len(parts) and k < p.count and parts[j].count == 1 and parts[j].explicit:
                _merge(group[k], parts[j])
                j += 1
                k += 1
            out.extend(group)
            i = j
            continue
        out.append(p)
        i += 1
    return out


def _copy(p: Part) -> Part:
    return Part(
        1,
        True,
        dict(p.set),
        {k: list(v) for k, v in p.add.items()},
        {k: list(v) for k, v in p.remove.items()},
        list(p.empty),
        p.at,
    )


def _merge(into: Part, p: Part) -> None:
    into.set.update(p.set)
    for k, v in p.add.items():
        into.add.setdefault(k, []).extend(x for x in v if x not in into.add.get(k, []))
    for k, v in p.remove.items():
        into.remove.setdefault(k, []).extend(v)
    into.empty.extend(p.empty)
