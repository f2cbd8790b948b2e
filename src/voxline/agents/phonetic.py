"""Near misses of slot values ("pepperony", "mediun"): proposals to confirm, never fills.

A recognizer hears a menu word as another word that sounds like it. Each word the exact phrases
left over is compared with every one-word value phrase by sound (the metaphone keys' edit
distance) and by spelling (Jaro-Winkler); a close pair is only a proposal, and only where the
word stands in that slot's place: the answer to its question, or next to the slot's head noun
("pepperony pizza", "fin crust"). The dialog then asks "Was that pepperoni?". Function words
and short words are never proposed ("on a" is not "onion", "him" is not "ham").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import jellyfish

from voxline.agents.slots import Lexicon, Mention

MIN_SCORE = 0.66  # "granular" ~ regular 0.68, "thik" ~ thick 0.97; "shrimp" ~ mushrooms 0.65
_FUNCTION_WORDS = frozenset(
    """
    a an the and or but of on in at to for with without from by it its it's is are was be been i
    i'd i'll i'm me my mine you your we our us they them their he him she her this that these
    those there here what which who how when where why can could would should will shall do does
    did have has had get got want like need please just also too so then than now no not yes
    yeah yep okay ok sure thanks thank make made change one two three four five some any all
    both each more much many little very really actually back order pizza pizzas crust size
    topping toppings instead again say said sorry hello hi bye well right left good great cancel
    remove add take off hold put give read tell let know think mean sounds
    """.split()  # noqa: SIM905
)


@dataclass(frozen=True)
class Proposal:
    slot: str
    value: str
    heard: str
    at: int  # token index
    score: float


def similarity(heard: str, phrase: str) -> float:
    sound_a, sound_b = jellyfish.metaphone(heard), jellyfish.metaphone(phrase)
    longest = max(len(sound_a), len(sound_b), 1)
    sound = 1 - jellyfish.levenshtein_distance(sound_a, sound_b) / longest
    return 0.5 * sound + 0.5 * jellyfish.jaro_winkler_similarity(heard, phrase)


def propose(
    tokens: list[str],
    mentions: list[Mention],
    lexicon: Lexicon,
    focus: str | None,
    heads: Mapping[str, set[str]],
) -> list[Proposal]:
    """``heads``: per slot, the words that follow its values ("crust"; "pizza" for sizes)."""
    used = {i for m in mentions for i in range(m.start, m.end)}
    content = [t for t in tokens if t not in _FUNCTION_WORDS]
    answering = len(content) <= 3  # a short answer to the question just asked
    out: list[Proposal] = []
    schema = lexicon.schema
    for i, token in enumerate(tokens):
        if i in used or token in _FUNCTION_WORDS or len(token) < 4 or not token.isalpha():
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
