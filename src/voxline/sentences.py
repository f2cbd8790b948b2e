"""Streaming text segmentation for speech: the first clause early, then whole sentences.

Synthesis can only start on text that will not change. Waiting for the whole first sentence
costs ~140 ms per reply with a streaming LLM, so the first segment ends at the first clause
boundary, even after one word ("Sure," "Okay,": replies often open so, and a pause follows
anyway), or after a handful of words; later segments are sentences, which sound better.
"""

from __future__ import annotations

import re

_ABBREVIATIONS = frozenset(
    (
        "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e", "inc", "ltd",
        "co", "corp", "no", "approx", "dept", "est", "fig", "min", "max", "ave", "blvd", "jan",
        "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "mon", "tue",
        "wed", "thu", "fri", "sat", "sun", "a.m", "p.m", "u.s",
    )
)  # fmt: skip
_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*(?=\s)")
_CLAUSE_END = re.compile(r"[,;:\u2014]+(?=\s)|\s[\u2013-]\s")


def sentence_ends(text: str) -> list[int]:
    """Offsets just past each real sentence end in ``text``: ``.``, ``?`` or ``!`` followed by
    whitespace, unless the word is an abbreviation or an initial ("Dr.", "e.g.", "J. Smith");
    "3.50" is not an end because no whitespace follows the dot. The one rule for speech, the
    knowledge base's chunker and its extractive answers."""
    ends = []
    for m in _SENTENCE_END.finditer(text):
        if text[m.end() - 1] in "?!":
            ends.append(m.end())
            continue
        start = text.rfind(" ", 0, m.start()) + 1
        word = text[start : m.end()].rstrip(".?!\"')]").lower().lstrip("(\"'")
        if not (word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())):
            ends.append(m.end())
    return ends


class SentenceSplitter:
    def __init__(self, first_clause_words: int = 1, first_max_words: int = 8, max_words: int = 30):
        self.first_clause_words = first_clause_words
        self.first_max_words = first_max_words
        self.max_words = max_words
        self._buf = ""
        self._first = True

    def push(self, text: str) -> list[str]:
        """Add streamed text; return the segments that are now complete."""
        self._buf += text
        out = []
        while (segment := self._next()) is not None:
            out.append(segment)
        return out

    def hurry(self, min_words: int = 3) -> list[str]:
        """The text so far, cut at its last clause boundary, else after its last whole word,
        when it has ``min_words``: for a reply whose audio is about to run out while the rest
        of the sentence is still being written (a short segment beats a gap)."""
        buf = self._buf
        clauses = [
            m.end() for m in _CLAUSE_END.finditer(buf) if len(buf[: m.start()].split()) >= min_words
        ]
        words = list(re.finditer(r"\S+(?=\s)", buf))  # whitespace after: the word is whole
        if clauses:
            cut = clauses[-1]
        elif len(words) >= min_words:
            cut = words[-1].end()
        else:
            return []
        segment = self._take(cut)
        return [segment] if segment else []

    def flush(self) -> list[str]:
        rest, self._buf = self._buf.strip(), ""
        return [rest] if rest else []

    def _next(self) -> str | None:
        buf = self._buf
        ends = sentence_ends(buf)
        if self._first:
            clauses = [
                m.end()
                for m in _CLAUSE_END.finditer(buf)
                if len(buf[: m.start()].split()) >= self.first_clause_words
            ]
            if ends or clauses:
                return self._take(min(ends[:1] + clauses[:1]))
        elif ends:
            return self._take(ends[0])
        words = buf.split()
        if self._first:
            if len(words) > self.first_max_words:
                return self._take_words(self.first_max_words)
        elif len(words) > self.max_words:
            clauses = [m for m in _CLAUSE_END.finditer(buf) if len(buf[: m.start()].split()) >= 4]
            return self._take(clauses[-1].end()) if clauses else self._take_words(self.max_words)
        return None

    def _take_words(self, n: int) -> str:
        matches = list(re.finditer(r"\S+", self._buf))
        return self._take(matches[n - 1].end())

    def _take(self, end: int) -> str | None:
        segment, self._buf = self._buf[:end].strip(), self._buf[end:]
        self._first = False
        return segment or self._next()
