"""Streaming text segmentation for speech: the first clause early, then whole sentences.

Synthesis can only start on text that will not change. Waiting for the whole first sentence
costs ~140 ms per reply with a streaming LLM, so the first segment ends at the first clause
boundary (or after a handful of words); later segments are sentences, which sound better.
"""

from __future__ import annotations

import re

_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "st", "jr", "sr", "vs", "etc", "e.g", "i.e", "inc", "ltd", "no",
    "approx", "min", "max", "ave", "blvd", "a.m", "p.m",
}  # fmt: skip
_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*(?=\s)")
_CLAUSE_END = re.compile(r"[,;:\u2014]+(?=\s)|\s[\u2013-]\s")


class SentenceSplitter:
    def __init__(self, first_clause_words: int = 2, first_max_words: int = 8, max_words: int = 30):
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

    def flush(self) -> list[str]:
        rest, self._buf = self._buf.strip(), ""
        return [rest] if rest else []

    def _next(self) -> str | None:
        buf = self._buf
        ends = [
            m.end()
            for m in _SENTENCE_END.finditer(buf)
            if not self._is_abbreviation(buf, m.start())
        ]
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

    @staticmethod
    def _is_abbreviation(buf: str, dot: int) -> bool:
        if buf[dot] != ".":
            return False
        word = re.search(r"(\S+)$", buf[:dot])
        if word is None:
            return False
        token = word.group(1).lower().lstrip("(\"'")
        # "3.50" is not an end, "1." in a list is; single capitals are initials ("J. Smith").
        return token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha())

    def _take_words(self, n: int) -> str:
        matches = list(re.finditer(r"\S+", self._buf))
        return self._take(matches[n - 1].end())

    def _take(self, end: int) -> str | None:
        segment, self._buf = self._buf[:end].strip(), self._buf[end:]
        self._first = False
        return segment or self._next()
