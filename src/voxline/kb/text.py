"""Sentences of documents and of streamed answers, for chunking, extractive answers and agents.

The sentence-end rule itself is ``voxline.sentences.sentence_ends``, shared with the speaker, so
the chunker, the agents and the synthesizer agree on where a sentence ends.
"""

from __future__ import annotations

import re

from voxline.sentences import sentence_ends

_SPACE = re.compile(r"\s+")


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` with whitespace collapsed; paragraph breaks also end sentences."""
    out: list[str] = []
    # Blank lines, list items and short unpunctuated lines (headings) also end a sentence.
    text = re.sub(r"(?m)^([^\n]{0,59}[^\n.?!,;:])\n(?=\S)", "\\1\n\n", text)
    for para in re.split(r"\n\s*\n|\n(?=\s*(?:[-*#]|\d+[.)]\s))", text):
        para = _SPACE.sub(" ", para).strip()
        start = 0
        for end in sentence_ends(para):
            sentence = para[start:end].strip()
            if sentence:
                out.append(sentence)
            start = end
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
        for end in sentence_ends(self._buf):
            sentence = _SPACE.sub(" ", self._buf[start:end]).strip()
            if sentence:
                out.append(sentence)
            start = end
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
