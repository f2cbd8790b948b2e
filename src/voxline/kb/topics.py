"""What a knowledge base is about, in its own words: the phrases of its documents' headings.

Callers ask about what the documents cover, in the documents' words ("test rides", "the
service workshop", "parking"), and whisper tiny mishears words it has no reason to expect:
"How does the livery work?", "the Hermit work shop", "is there parting". The headings name
those subjects, so the recognizer is told them (``RecognizerHints.topics``): on the rag
suite's caller lines in ten voices, content words missed 46 -> 32 of 276 and WER .146 -> .107
(bench figures in the README). Pure: text in, phrases out.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import Path

from voxline.function_words import FUNCTION_WORDS

MAX_TOPICS = 24  # each costs whisper prompt tokens on every utterance
HEADING_WORDS = 6  # a plain-text line this short, with no sentence end, is a heading
_MD = re.compile(r"^\s{0,3}#{1,6}\s*(.+?)\s*#*\s*$", re.M)
_HTML = re.compile(r"<h[1-6][^>]*>(.*?)</h[1-6]>", re.I | re.S)
_TAG = re.compile(r"<[^>]+>")
_SPLIT = re.compile(r"[:,;()/]|\s+-\s+|\band\b|\bor\b", re.I)
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
# Heading words that name no subject: how a document is laid out ("Our story", "Overview"),
# and the verbs and adverbs of question headings ("How long the warranty lasts", "What is
# not covered", "How to make a claim"). A word missing here costs prompt tokens, not words.
_NOT_SUBJECTS = {
    "about", "our", "story", "believe", "name", "overview", "introduction", "faq", "contents",
    "summary", "details", "information", "more", "last", "lasts", "make", "covered", "long",
}  # fmt: skip
_SKIP = FUNCTION_WORDS | _NOT_SUBJECTS


def headings(text: str, suffix: str) -> list[str]:
    """The headings of one document (``suffix``: ".md", ".html", ".txt", ...)."""
    if suffix in (".md", ".markdown"):
        return _MD.findall(text)
    if suffix in (".html", ".htm"):
        return [html.unescape(_TAG.sub(" ", h)) for h in _HTML.findall(text)]
    out, blank = [], True
    for line in text.splitlines():
        s = line.strip()
        short = 0 < len(s.split()) <= HEADING_WORDS and not s.endswith((".", "?", "!", ":"))
        if blank and short:
            out.append(s)
        blank = not s
    return out


def phrases(heading: str) -> list[str]:
    """A heading's subjects: its runs of content words, lower case ("Kestrel: the city bike"
    -> "kestrel", "city bike")."""
    out = []
    for part in _SPLIT.split(heading):
        run: list[str] = []
        for word in [*_WORD.findall(part), ""]:
            lower = word.lower()
            if word and lower not in _SKIP and len(word) > 2:
                run.append(lower)
                continue
            if run:
                out.append(" ".join(run))
            run = []
    return out


def document_topics(
    folder: Path, known: Sequence[str] = (), limit: int = MAX_TOPICS
) -> tuple[str, ...]:
    """The topics of the documents in ``folder``, in order, each once, but none with a word
    of ``known`` (the bot's own vocabulary: its names are told to the recognizer already)."""
    names = {w for k in known for w in k.lower().split()}
    found: dict[str, None] = {}
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError):
            continue  # ingestion reports unreadable documents; topics are only a hint
        for heading in headings(text, path.suffix.lower()):
            for phrase in phrases(heading):
                if not names.intersection(phrase.split()):
                    found.setdefault(phrase)
    return tuple(found)[:limit]
