"""What a transcript's words say about the caller's turn, whatever the recognizer: the same
words as another transcript, a sentence left unfinished, a sentence that reads as whole.

Pure functions of text; the turn taker (``turns.py``) decides with them when to wait and when
to answer, and the recognizers' hypothesis scorers compare transcripts with ``normalize``.
"""

from __future__ import annotations

import re

_WORDS = re.compile(r"[^\w\s'-]")
# Words a caller's sentence does not end on: articles, some prepositions and conjunctions,
# hesitations. Not words that end questions and phrases ("do you have", "hold on", "a large
# then").
UNFINISHED = frozenset([
    "a", "an", "the", "with", "and", "or", "but", "for", "of", "to", "my", "your", "our", "um",
    "uh", "er", "erm", "because", "plus",
])  # fmt: skip


# Words a clause waiting for its sentence begins with ("If I don't like the bike.").
_SUBORDINATE = frozenset(
    "if when unless because although though while whereas since before after once".split()  # noqa: SIM905
)


# Of those, the ones no question begins with ("When do you close?" is whole): whisper wrote a
# lone "If I don't like the bike?" (the Riva-stack bench), and the bot answered half of it.
_CONDITIONS = _SUBORDINATE - {"when", "since", "before", "after"}


def unfinished(text: str) -> bool:
    """Ends on a word no sentence ends on, or is a lone condition ("If I don't like the
    bike?": its question comes after the comma's pause, which a final may fall into)."""
    words = normalize(text).split()
    if not words:
        return False
    clauses = [c for c in re.split(r"[,.?!;]", text) if c.strip()]
    return words[-1] in UNFINISHED or (words[0] in _CONDITIONS and len(clauses) == 1)


# Words a sentence seldom ends on, though a final may ("can I", "if I"): an early reply is not
# released on them.
_OPEN_ENDS = UNFINISHED | {"i", "can", "could", "would", "if", "is", "are", "at", "in", "on"}


def whole_sentence(text: str) -> bool:
    """Whether a transcript reads as a finished sentence. Whisper writes a trailing-off
    "with..." and a clause's "bike," as they sound; Riva's final punctuation does the same."""
    stripped = text.rstrip()
    if not stripped or stripped.endswith(("...", ",", "-", ":")) or unfinished(stripped):
        return False
    words = normalize(stripped).split()
    if not words or stripped[-1] not in ".?!" or words[-1] in _OPEN_ENDS:
        return False
    return stripped[-1] == "?" or words[0] not in _SUBORDINATE or "," in stripped


def normalize(text: str) -> str:
    """Lower case, no punctuation, single spaces: what "the same transcript" means."""
    return " ".join(_WORDS.sub(" ", text.lower()).split())
