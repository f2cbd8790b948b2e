"""A word heard where only a slot's value can stand: "just crust", "in crust", "big crust".

The word before a slot's own name ("crust", "size") is that slot's value, whatever whisper
made of it, and whisper tiny makes function words of short values: "thin crust" became "in
crust", "and crust" or "than crust", "stuffed crust" "just crust", "thick crust" "with crust"
or "The crust". The sound-alike pass (``hypotheses.near_words``) never tries function words
("on a" is not "onion"); here the place says it is a value, and the audio says which: each of
the slot's values is scored in the word's stead (whisper's own probability, forced), and the
best is taken when it is at most ``PLACE_SLACK`` nats less likely than what whisper heard and
beats every other value by ``PLACE_GAP``.

On the recognition corpus the value meant scored 3.7 below to 3.0 above whisper's own word, and
won by 2.4-7.4, in 11 lines; a caller asking "What crust do you do?" or "What kind of
crusts ...?" gave the values 14-19 below; "Do you do a gluten free crust?" 2.3 below, but with
thin and thick 1.5 apart; "on this crust" (stuffed meant) had thick and thin 0.2 apart: left
as heard, the dialog asks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from voxline.transcript_shape import normalize

PLACE_SLACK = 4.0
PLACE_GAP = 2.0
# Words that ask about the slot, never name a value ("What crust ...?", "kinds of crust")
ASKING = frozenset({"what", "which", "of"})
Places = Sequence[tuple[str, Sequence[str]]]  # (a slot's name, its values)


def place_words(text: str, places: Places) -> list[list[str]]:
    """Per word of ``text`` (split on spaces), the values to try in its stead: those of the
    slot whose name follows it, unless the word is one of them already."""
    names = {}
    for name, values in places:
        for form in (name, f"{name}s", name.removesuffix("s")):
            names[form] = tuple(values)
    keys = [normalize(w) for w in text.split()]
    out: list[list[str]] = []
    for word, after in zip(keys, [*keys[1:], ""], strict=True):
        values = names.get(after, ())
        said = {normalize(v) for v in values}
        value = word.isalpha() and word not in said and word not in ASKING
        out.append(list(values) if value else [])
    return out


def placed(scores: Mapping[str, float], heard: float) -> str | None:
    """The value the word was, if one stands out; ``heard``: whisper's own text's score."""
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    if not ranked:
        return None
    best, top = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else float("-inf")
    return best if top >= heard - PLACE_SLACK and top - second >= PLACE_GAP else None
