"""Sentence splitting shared by chunking, extractive answers and streamed replies.

Speech is produced a sentence at a time, so both the chunker (which must not cut a sentence in
half) and the agents (which speak each sentence as soon as it is complete) need the same rule:
``.``, ``?`` or ``!`` followed by whitespace ends a sentence, unless the word before it is a
common abbreviation or a single letter/number (``Dr.``, ``e.g.``, ``3.5``).
"""

from __future__ import annotations

import re

_ABBREVIATIONS = frozenset(
    (
        "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e", "inc", "ltd",
        "co", "corp", "no", "approx", "dept", "est", "fig", "jan", "feb", "mar", "apr", "jun",
        "jul", "aug", "sep", "sept", "oct", "nov", "dec", "mon", "tue", "wed", "thu", "fri", "sat",
        "sun", "a.m", "p.m", "u.s"
    )
)  # fmt: skip
_END = re.compile(r"[.?!]+[\"')\]]*(?=\s)")
_SPACE = re.compile(r"\s+")


def _is_break(text: str, end: int) -> bool:
    """Is the punctuation ending at ``end`` a real sentence end?"""
    start = text.rfind(" ", 0, end) + 1
    word = text[start:end].rstrip(".?!\"')]").lower()
    if text[end - 1] in "?!":
        return True
    return not (word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()))


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` with whitespace collapsed; paragraph breaks also end sentences."""
    out: list[str] = []
    # Blank lines, list items and short unpunctuated lines (headings) also end a sentence.
    text = re.sub(r"(?m)^([^\n]{0,59}[^\n.?!,;:])\n(?=\S)", "\\1\n\n", text)
    for para in re.split(r"\n\s*\n|\n(?=\s*[-*#\d])", text):
        para = _SPACE.sub(" ", para).strip()
        start = 0
        for m in _END.finditer(para):
            if _is_break(para, m.end()):
                sentence = para[start : m.end()].strip()
                if sentence:
                    out.append(sentence)
                start = m.end()
        rest = para[start:].strip()
        if rest:
            out.append(rest)
    return out


class SentenceStream:
    """Turn streamed text deltas into complete sentences, as early as each one is known.

    A sentence is released once the text after its end punctuation has started (so ``3.`` in
    ``3.5`` is not cut); ``flush()`` returns what is left when the stream ends.
    """

    def __init__(self, max_chars: int = 400) -> None:
        self._buf = ""
        self.max_chars = max_chars  # speak an overlong run-on at a comma rather than wait

    def push(self, delta: str) -> list[str]:
        self._buf += delta
        out: list[str] = []
        start = 0
        for m in _END.finditer(self._buf):
            if _is_break(self._buf, m.end()):
                sentence = _SPACE.sub(" ", self._buf[start : m.end()]).strip()
                if sentence:
                    out.append(sentence)
                start = m.end()
        self._buf = self._buf[start:]
        if len(self._buf) > self.max_chars:
            cut = self._buf.rfind(", ", 0, self.max_chars)
            if cut > 0:
                out.append(_SPACE.sub(" ", self._buf[: cut + 1]).strip())
                self._buf = self._buf[cut + 1 :]
        return out

    def flush(self) -> list[str]:
        rest = _SPACE.sub(" ", self._buf).strip()
        self._buf = ""
        return [rest] if rest else []
