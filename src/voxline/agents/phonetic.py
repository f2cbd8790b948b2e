"""Near misses of slot values ("pepperony", "mediun"): proposals to confirm, never fills.

A recognizer hears a menu word as another word that sounds like it. Each word the exact phrases
left over is compared with every one-word value phrase by sound and spelling (``sounds.py``);
a close pair is only a proposal, and only where the word stands in that slot's place: the
answer to its question, or next to the slot's head noun ("pepperony pizza", "fin crust"). The
dialog then asks "Was that pepperoni?". Function words and short words are never proposed
("on a" is not "onion", "him" is not "ham").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from voxline.agents.slots import Lexicon, Mention
from voxline.function_words import FUNCTION_WORDS
from voxline.sounds import similarity

MIN_SCORE = 0.66  # "granular" ~ regular 0.68, "thik" ~ thick 0.97; "shrimp" ~ mushrooms 0.65


@dataclass(frozen=True)
class Proposal:
    slot: str
    value: str
    heard: str
    at: int  # token index
    score: float


def propose(
    tokens: list[str],
    mentions: list[Mention],
    lexicon: Lexicon,
    focus: str | None,
    heads: Mapping[str, set[str]],
) -> list[Proposal]:
    """``heads``: per slot, the words that follow its values ("crust"; "pizza" for sizes)."""
    used = {i for m in mentions for i in range(m.start, m.end)}
    content = [t for t in tokens if t not in FUNCTION_WORDS]
    answering = len(content) <= 3  # a short answer to the question just asked
    out: list[Proposal] = []
    schema = lexicon.schema
    for i, token in enumerate(tokens):
        if i in used or token in FUNCTION_WORDS or len(token) < 4 or not token.isalpha():
            continue
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        best: Proposal | None = None
        for slot in schema.enum_slots:
            in_place = (focus == slot.name and answering) or nxt in heads.get(slot.name, ())
            if not in_place:
                continue
            for value in slot.values:
                for phrase in lexicon.phrases_of(slot.name, value):
                    if " " in phrase:
                        continue
                    score = similarity(token, phrase)
                    if score >= MIN_SCORE and (best is None or score > best.score):
                        best = Proposal(slot.name, value, token, i, round(score, 3))
        if best:
            out.append(best)
    return out
