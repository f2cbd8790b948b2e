"""Extractive answers: speak the retrieved sentences that best answer the question.

With no LLM there is no generation, so the answer is made of the documents' own sentences.
Every sentence of the top passages is scored by cosine similarity to the question (plus a
small bonus for shared content words); the best one, and a neighbour from the same passage if
it scores nearly as well, are read in document order. Headings and fragments are skipped.

Sentence scores also decide relevance: a whole 600-character chunk matches a question only
loosely (cosine 0.2-0.6 for real answers), whereas the answering sentence stands out (>= 0.40
on the sample bot's questions, <= 0.29 for off-topic ones), so the threshold is applied here.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from voxline.kb.base import Hit
from voxline.kb.search import fts_query
from voxline.kb.text import split_sentences

Embed = Callable[[list[str]], np.ndarray]


class EmbedCache:
    """Remember sentence vectors: a knowledge base is small and callers ask similar things,
    so after a few questions extractive answers cost one query embedding, not twenty."""

    def __init__(self, embed: Embed, size: int = 4096) -> None:
        self._embed = embed
        self._size = size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            vectors = self._embed(missing)
            with self._lock:
                for text, vec in zip(missing, vectors, strict=True):
                    self._cache[text] = vec
                while len(self._cache) > self._size:
                    self._cache.popitem(last=False)
        with self._lock:
            out = []
            for t in texts:
                vec = self._cache.get(t)
                if vec is None:  # evicted meanwhile by another thread: recompute it
                    vec = self._embed([t])[0]
                else:
                    self._cache.move_to_end(t)
                out.append(vec)
        return np.stack(out)


@dataclass(frozen=True, slots=True)
class Extract:
    text: str
    score: float  # cosine of the best sentence (or the hit score without an embedder)


DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_WORDS = {
    "weekday": DAYS[:5], "weekdays": DAYS[:5], "weekend": DAYS[5:], "weekends": DAYS[5:],
    **{d: (d,) for d in DAYS}, **{d + "s": (d,) for d in DAYS},
}  # fmt: skip
_RANGE = re.compile(
    r"\b(" + "|".join(DAYS) + r")s? (?:to|through|until|-) (" + "|".join(DAYS) + r")s?\b"
)


def _stem(word: str) -> str:
    return re.sub(r"(ing|ed|es|s)$", "", word) if len(word) > 4 else word


def days_named(text: str) -> set[str]:
    """The days a text is about: "weekdays" and "Monday to Friday" are the five of them."""
    low = text.lower()
    days = {d for w in re.findall(r"[a-z]+", low) for d in _DAY_WORDS.get(w, ())}
    for a, b in _RANGE.findall(low):
        days |= set(DAYS[DAYS.index(a) : DAYS.index(b) + 1])
    return days


def _stems(text: str) -> set[str]:
    words = re.findall(r'"([^"]+)"', fts_query(text))
    return {_stem(w) for w in words} | {f"day:{d}" for d in days_named(text)}


def unanswered(
    question: str, answer: str, embed: Embed, names: Sequence[str] = (), gain: float = 0.04
) -> list[str]:
    """Content words of the question the answer does not speak to ("trucks" of "parking for
    trucks?" against the car-park sentence): not in the answer, and the question without them
    is closer to the answer (by ``gain`` in cosine; "son" of "my 14 year old son" is not).
    The bot's proper ``names`` are what the question is about, not a fact it asks for ("Why is
    the company called Corvid?": "named after the crows")."""
    covered = _stems(answer)
    named = {w.lower() for n in names if n[:1].isupper() for w in n.split()}
    words = [w for w in re.findall(r'"([^"]+)"', fts_query(question)) if w.lower() not in named]
    candidates = [
        w for w in words
        if _stem(w) not in covered and not w.isdigit() and not (days_named(w) and
        days_named(w) <= {d.removeprefix("day:") for d in covered if d.startswith("day:")})
    ]  # fmt: skip
    if not candidates:
        return []
    without = [re.sub(rf"\b{re.escape(w)}\b", " ", question, flags=re.I) for w in candidates]
    vectors = embed([question, answer, *without])
    base = float(vectors[0] @ vectors[1])
    return [
        w
        for w, v in zip(candidates, vectors[2:], strict=True)
        if float(v @ vectors[1]) - base >= gain
    ]


def _speakable(sentence: str) -> bool:
    return len(sentence.split()) >= 4 and sentence[-1] in ".?!\"')"


_LEANS_BACK = re.compile(
    r"^(it|its|it's|they|their|this|these|that|he|she|his|her|(all|both|each|none) of them)\b", re.I
)


_IT = re.compile(r"^(it's|its|it)\b", re.I)
_NAMED = re.compile(r"^The [A-Z][\w-]*(?: [A-Z][\w-]*)*(?= [a-z])")  # "The Heron is ..."


def _units(text: str) -> list[str]:
    """Speakable sentences. One that starts with "it" after a sentence about a named thing
    says its name instead ("Its range is 70 km" -> "The Heron's range is 70 km"): asked what
    the Heron costs, the caller hears the price first, not the description it followed.
    Another that starts with a pronoun keeps the sentence before it, so it is scored (and
    spoken) together with what it is about."""
    units: list[str] = []
    prev = subject = ""
    for s in split_sentences(text):
        it = _IT.match(s)
        if (named := _NAMED.match(s)) is not None:
            subject = named.group(0)
        elif it is None:
            subject = ""
        if not _speakable(s):
            prev = ""
            continue
        alone = _named(s, it, subject) if subject and it else s
        units.append(f"{prev} {s}" if alone is s and prev and _LEANS_BACK.match(s) else alone)
        prev = alone
    return units


def _named(sentence: str, it: re.Match[str], subject: str) -> str:
    """``sentence`` with its leading "it" / "its" / "it's" said as ``subject``."""
    word, rest = it.group(1).lower(), sentence[it.end() :]
    return subject + {"its": "'s", "it's": " is"}.get(word, "") + rest


def _day_fit(question: str, units: list[str]) -> np.ndarray:
    """For a question about a day: the sentence about that day, the most specific one first
    ("On Thursdays ... until 8" over "Monday to Friday ... until 6"), never another day's."""
    asked = days_named(question)
    fit = np.zeros(len(units), dtype=np.float32)
    if not asked:
        return fit
    for i, unit in enumerate(units):
        named = days_named(unit)
        if named and not asked & named:
            fit[i] = -0.3
        elif named:
            fit[i] = 0.3 * len(asked & named) / len(asked | named)
    return fit


def _unshared(question: str, hits: list[Hit]) -> str:
    """``question`` without the names every passage has: they cannot tell its sentences apart
    ("Corvid Cycles" in "Who founded Corvid Cycles?", asked of the company's pages). Names
    only: "battery" and "warranty" in every passage about the battery warranty are still what
    "How long is the battery warranty?" asks about."""
    if len(hits) < 2:
        return question
    shared = set.intersection(*(_stems(h.text) for h in hits))
    words = question.split()
    kept = words[:1] + [
        w for w in words[1:]
        if not (w[:1].isupper() and _stem(re.sub(r"[^\w']", "", w.lower())) in shared)
    ]  # fmt: skip
    return " ".join(kept)


def _overlap(question: str, units: list[str]) -> np.ndarray:
    """The share of the question's content words each unit has."""
    words = _stems(question)
    return np.array([len(words & _stems(u)) / max(len(words), 1) for u in units], dtype=np.float32)


def extract_answer(
    question: str,
    hits: list[Hit],
    embed: Embed | None,
    max_sentences: int = 2,
    max_chars: int = 300,
    margin: float = 0.08,
) -> Extract:
    """The most relevant sentences among ``hits`` and how relevant they are."""
    pool: list[tuple[int, int, str]] = []  # (hit, sentence index, sentence)
    for h, hit in enumerate(hits):
        sentences = _units(hit.text)
        pool.extend((h, i, s) for i, s in enumerate(sentences))
    if not pool:
        return Extract("", 0.0)
    units = [u for _, _, u in pool]
    # Scored for the question as asked and without the names every passage has: asked "Who
    # founded Corvid Cycles?" of the company's pages, the sentence naming Corvid Cycles twice
    # won over "The company was founded in 2011 by ...".
    asked = list(dict.fromkeys([question, _unshared(question, hits)]))
    if embed is not None:
        vectors = embed(units)
        cosines = [vectors @ embed([q])[0] for q in asked]
        relevance = float(cosines[0].max())
    else:
        cosines = [np.zeros(len(units), dtype=np.float32)] * len(asked)
        relevance = hits[0].score
    fits = [c + 0.15 * _overlap(q, units) for q, c in zip(asked, cosines, strict=True)]
    scores = sum(fits) / len(asked) + _day_fit(question, units)
    max_chars = max(max_chars, len(pool[int(np.argmax(scores))][2]))
    order = [int(i) for i in np.argsort(-scores)]
    best = order[0]
    chosen = [best]
    for i in order[1:]:
        if len(chosen) >= max_sentences or scores[i] < scores[best] - margin:
            break
        total = sum(len(pool[j][2]) for j in chosen) + len(pool[i][2])
        if pool[i][0] == pool[best][0] and total <= max_chars:
            chosen.append(i)
    parts: list[str] = []
    for i in sorted(chosen, key=lambda j: pool[j][:2]):
        for sentence in split_sentences(pool[i][2]):  # a unit may repeat its neighbour's lead
            if sentence not in parts:
                parts.append(sentence)
    text = " ".join(parts)
    return Extract(text, relevance)
