"""A short answer to the bot's question, chosen among the options the question named.

Whisper tiny mishears a lone word even with the bot's question in its prompt: of 196 one-word
answers in the bench's 14 voices ("Small.", "Thin.", "Pepperoni.", "Yes."), 44 came out as
other words ("It's mine.", "The end.", "That's the role need.", "You wish."). Scored against
the same audio (whisper's own probability of each option's tokens, forced), the option meant
is usually far likelier than the question's other options: taking it when it wins by
``OPTION_GAP`` and is not unlikely outright (``OPTION_FLOOR``, ``OPTION_SLACK``) mended 21 of
the 44 and broke none, nor any of 98 lines that were no option ("Um.", "What do you have?",
"How much is it?").
Scoring every word the bot knows instead mended 14 and took 30 ms a word: the more options,
the less the right one stands out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from voxline.speech.base import RecognizerHints
from voxline.speech.places import Places
from voxline.transcript_shape import normalize

OPTION_FLOOR = -11.0  # summed log-probability of the option's tokens, at least
# Over the next option (e^3.5, 33 times likelier): the options meant won by 3.7-5.8 on the
# corpus (an espeak "Thin." by 3.98 over thick); a wrong one that got past the slack by 3.3.
OPTION_GAP = 3.5
# Below what whisper heard freely, at most: on the corpus the option meant came 1.3-7.9 below
# (a Kokoro "Small." heard as "Tonight?" at 7.9, and just over 8 in a bench call, where the bot
# asked for the size six times), a wrong one 11.0-11.8 ("Black olives and onions." as pepperoni).
OPTION_SLACK = 9.5
YES_NO = ("yes", "no")
# A question that starts with one of these is answered yes or no ("Shall I place the order?",
# "Did you say ham?"), besides any option it names.
YES_NO_STARTS = frozenset(
    "shall should do does did is are was were would will can could may have has".split()  # noqa: SIM905
)
QUESTION_STARTS = YES_NO_STARTS | {"what", "which", "how", "why", "when", "where", "who"}
_HUM = re.compile(r"[mhun]+")  # "Mm.", "Um,", "Mm-m.", "Hmm": no answer to force


def offered(heard: str, phrases: Sequence[str]) -> tuple[str, ...]:
    """The options the bot's last question gave: its words from ``phrases`` from the question
    on ("What size would you like? Small, medium or large."), and yes and no when it asks for
    them. Fewer than two is no choice."""
    q = heard.rfind("?")
    if q < 0:
        return ()
    start = max(heard.rfind(mark, 0, q) for mark in ".!?") + 1
    said = f" {normalize(heard[start:])} "
    named = [p for p in phrases if f" {normalize(p)} " in said]
    first = normalize(heard[start:q]).split()[:1]
    if first and first[0] in YES_NO_STARTS:
        named = [*YES_NO, *named]
    options = tuple(dict.fromkeys(named))
    return options if len(options) >= 2 else ()


def utterance_options(hints: RecognizerHints, over_bot: bool, heard: str) -> tuple[str, ...]:
    """What an utterance may be an answer to: nothing over the bot (a backchannel, or the
    caller cutting in with something new)."""
    return () if over_bot else offered(heard, hints.phrases)


def open_to_choice(text: str, options: Sequence[str]) -> bool:
    """A transcript that may be a misheard option: it names none, is not a hum, and is not a
    question of the caller's own ("Do you deliver?" to "Shall I place the order?" was once
    heard as "Yes.")."""
    said = normalize(text)
    words = said.split()
    if len(options) < 2 or not words or any(f" {normalize(o)} " in f" {said} " for o in options):
        return False
    if text.rstrip().endswith("?") and words[0] in QUESTION_STARTS:
        return False
    return not all(_HUM.fullmatch(w) for w in re.split(r"[\s-]+", said))  # "mm-hmm": hyphens


def choose(scores: Mapping[str, float], heard: float) -> str | None:
    """The option the caller said, if one stands out; else None. ``heard``: the summed
    log-probability of what whisper heard freely."""
    (best, top), (_, second) = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)[:2]
    stands_out = top - second >= OPTION_GAP and top >= max(OPTION_FLOOR, heard - OPTION_SLACK)
    return best if stands_out else None


def spoken(option: str) -> str:
    """An option as a caller's one-word answer is written: "Black olives."."""
    return option[:1].upper() + option[1:] + "."


def answer_forms(option: str, places: Places) -> tuple[str, ...]:
    """The ways a caller says ``option``: alone, and with its slot's name ("Regular crust."),
    the option scoring as the likelier. Scored alone, an espeak "Regular crust." over line
    hiss came 1.6 nats under the floor, and a clean one heard as "Do you recommend the other
    crust?" only 2.2 over thick."""
    alone = spoken(option)
    named = [f"{alone[:-1]} {name}." for name, values in places if option in values]
    return (alone, *named)
