"""Whisper's beam hypotheses, and the one that names the bot's words.

Whisper tiny's best hypothesis often hears a menu word as a common one ("hand pizza", "hemp",
"medium-key" for "medium cheese", "So" for "No" after "Shall I place the order?") while
another of its five beam hypotheses, barely less likely, has the word. A hypothesis that
names more of the bot's words (its vocabulary, and yes or no if the bot asked) is taken when
its summed log-probability is within ``WORD_BONUS`` nats per extra word of the best one.
Never when the new word takes the place of function words only ("in them" is not "in
thin"): a slot is not made from a word with no menu meaning. Over the bot nothing is
favoured: that speech is a backchannel or an interruption, not an order.

A word no hypothesis got right may still be near one ("hem", "cuffed crust", "jalapinos"):
each word that sounds like one of the bot's words (``NEAR``) is tried as that word, scored on
the same audio, and taken when whisper finds it at most ``NEAR_SLACK`` nats less likely than
its own word. On the bench the right words scored 1.5-2.7 below whisper's, the wrong ones
("cookie" as thick, "olives" as onions, "hair" as ham) 6.8 and more. Both together: slot
values missed on the recognition bench 27 -> 16 of 398, none more invented, no time to speak
of (thresholds fitted on that bench: the conversation bench is the check).

A caller who goes on after the interim gets the whole utterance transcribed again for the
final, which mends the interim's cut tails, but once in 71 resumed pairs of the corpus it
garbled a right interim ("a large bacon and onion pizza with a stuffed crust" became "a large
bacon and I'll be able to win a tough draft"). The interim's words with the final's new tail
(``continued``) are then one more hypothesis, scored on the final's audio: that one was 5.7
nats likelier than the beam's own.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

from voxline.function_words import FUNCTION_WORDS
from voxline.sounds import similarity
from voxline.speech.base import RecognizerHints
from voxline.speech.choices import YES_NO
from voxline.transcript_shape import normalize

WORD_BONUS = 1.0  # nats per vocabulary word: 2 made "Yeah." into "Yes. Yes." more often
# Similarity of a heard word to a bot word, at least: "soft" ~ stuffed 0.68, "hand" ~ ham 0.56,
# "piece" ~ cheese 0.54 (the bench's "medium hand pizza" and "large piece pizza"); the audio
# decides. At 0.53 against 0.6, over the recognition corpus's 592 lines only those two
# transcripts changed, for +8 ms p50 and +60 ms p95 per utterance (more alignment passes).
NEAR = 0.53
NEAR_SLACK = 3.0  # nats the bot's word may be less likely than whisper's own
NEAR_TRIES = 2  # bot words tried per heard word: each try is an alignment pass, ~25 ms
_YES_NO = {"yes": "yes", "yeah": "yes", "yep": "yes", "no": "no", "nope": "no"}


def utterance_vocabulary(
    hints: RecognizerHints, over_bot: bool, options: Sequence[str] = ()
) -> tuple[str, ...]:
    """The words to favour in an utterance: the bot's, and yes and no when its question asks
    for them (``options``; else "Oh, wait" became "No, wait"); none over the bot."""
    if over_bot:
        return ()
    return (*hints.phrases, *(w for w in YES_NO if w in options))


def _words(text: str) -> list[str]:
    """As the dialog reads them: "medium-key" is two words, "jalapeños" jalapenos."""
    return normalize(text.replace("-", " ").replace("ñ", "n")).split()


def _forms(vocabulary: Sequence[str]) -> dict[tuple[str, ...], str]:
    """Each phrase and its plural or singular ("mushroom", "mushrooms"); "yeah" is yes."""
    out: dict[tuple[str, ...], str] = {}
    for phrase in vocabulary:
        p = normalize(phrase)
        for form in (p, p[:-1] if p.endswith("s") else p + "s"):
            out[tuple(form.split())] = p
    for word, answer in _YES_NO.items():
        if answer in vocabulary:
            out[(word,)] = answer
    return out


def named(words: Sequence[str], forms: dict[tuple[str, ...], str]) -> list[str]:
    """The vocabulary phrases ``words`` name, longest first; a yes or no once ("Yeah, yeah"
    is one answer)."""
    found, i = [], 0
    longest = max((len(k) for k in forms), default=1)
    while i < len(words):
        for n in range(min(longest, len(words) - i), 0, -1):
            if (phrase := forms.get(tuple(words[i : i + n]))) is not None:
                if phrase not in YES_NO or phrase not in found:
                    found.append(phrase)
                i += n
                break
        else:
            i += 1
    return found


def _from_function_words(
    best: list[str], other: list[str], forms: dict[tuple[str, ...], str]
) -> bool:
    """Whether ``other`` names a word where ``best`` has only function words."""
    ops = difflib.SequenceMatcher(None, best, other, autojunk=False).get_opcodes()
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal":
            continue
        new = [p for p in named(other[j1:j2], forms) if p not in YES_NO]
        if new and all(w in FUNCTION_WORDS for w in best[i1:i2]):
            return True
    return False


def favoured(hypotheses: Sequence[tuple[str, float]], vocabulary: Sequence[str]) -> str:
    """The text to take of ``(text, summed log-probability)`` pairs, best first."""
    best_text, best_logprob = hypotheses[0]
    if not vocabulary or len(hypotheses) < 2:
        return best_text
    forms = _forms(vocabulary)
    best = _words(best_text)
    base = len(named(best, forms))

    def value(h: tuple[str, float]) -> float:
        return h[1] + WORD_BONUS * len(named(_words(h[0]), forms))

    for text, logprob in sorted(hypotheses[1:], key=value, reverse=True):
        words = _words(text)
        extra = len(named(words, forms)) - base
        near = extra > 0 and logprob >= best_logprob - WORD_BONUS * extra
        if near and not _from_function_words(best, words, forms):
            return text
    return best_text


def near_words(text: str, vocabulary: Sequence[str]) -> list[list[str]]:
    """Per word of ``text`` (split on spaces), the bot's one-word phrases it sounds like,
    likest first; none for function words, numbers and words that already name a phrase."""
    forms = _forms(vocabulary)
    ones = [p for p in dict.fromkeys(map(normalize, vocabulary)) if " " not in p]
    ones = [p for p in ones if p not in YES_NO]  # short answers: ``choices.py``
    out = []
    for word in text.split():
        key = normalize(word)
        near: list[str] = []
        if key.isalpha() and key not in FUNCTION_WORDS and (key,) not in forms:
            scored = sorted(((similarity(key, p), p) for p in ones), reverse=True)
            near = [p for s, p in scored[:NEAR_TRIES] if s >= NEAR]
        out.append(near)
    return out


def replaced(text: str, at: int, phrase: str) -> list[str]:
    """``text`` with its word ``at`` (split on spaces) said as ``phrase``, punctuation kept;
    a capital word both ways: whisper scored "Stuffed crust" 4.2 below "Cuffed crust" and
    "stuffed crust" 2.6 below."""
    words = text.split()
    forms = [phrase.capitalize(), phrase] if words[at][:1].isupper() else [phrase]
    out = []
    for said in forms:
        words[at] = re.sub(r"[\w'-]+", said, words[at], count=1)
        out.append(" ".join(words))
    return out


def continued(earlier: str, later: str) -> str | None:
    """The interim's words and what the final heard after them: None if the final never
    matches the interim's last word, so it is unknown where the caller went on."""
    a, b = _words(earlier), _words(later)
    if not a:
        return None
    blocks = difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks()
    ends = [j + n for i, j, n in blocks if n and i + n == len(a)]
    if not ends:
        return None
    tail = b[ends[-1] :]  # as words: "medium-key" is two
    return f"{earlier.rstrip(' .?!,')}, {' '.join(tail)}." if tail else earlier
