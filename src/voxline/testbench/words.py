"""What "the bot said X" means when X is judged on a transcript of what the caller heard.

Both sides are normalized the same way: lower case, no punctuation, numbers as digits
("fifteen ninety-nine", "$15.99" and "15.99" all become ``15 99``), and a phrase is found when
its words appear in order and in a row, a trailing "s" aside (whisper drops and adds plurals on
phone audio). ``a|b`` in an expectation accepts either.
"""

from __future__ import annotations

import re

_UNIT_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
)
_TEN_WORDS = "twenty thirty forty fifty sixty seventy eighty ninety"
_UNITS = {w: i for i, w in enumerate(_UNIT_WORDS.split())}
_TENS = {w: 10 * (i + 2) for i, w in enumerate(_TEN_WORDS.split())}
_MONEY = re.compile(r"\$\s?(\d+)(?:\.(\d\d))?")
_DECIMAL = re.compile(r"(\d+)\.(\d+)")
_JUNK = re.compile(r"[^a-z0-9' ]+")


def normalize(text: str) -> list[str]:
    text = text.lower().replace("-", " ")
    text = _MONEY.sub(lambda m: f" {m.group(1)} dollars {m.group(2) or ''} ", text)
    text = _DECIMAL.sub(r" \1 \2 ", text)
    words = _JUNK.sub(" ", text).replace("'", "").split()
    out: list[str] = []
    tens = False  # the last word was "twenty".."ninety": "ninety nine" is one number
    for w in words:
        if w in _UNITS and tens and 0 < _UNITS[w] < 10:
            out[-1] = str(int(out[-1]) + _UNITS[w])
        elif w in _UNITS:
            out.append(str(_UNITS[w]))
        elif w in _TENS:
            out.append(str(_TENS[w]))
        elif w == "oh" and out and out[-1].isdigit():
            out.append("0")  # "nine four one one oh"
        else:
            out.append(w)
        tens = w in _TENS
    return out


def _same(a: str, b: str) -> bool:
    return a == b or a.rstrip("s") == b.rstrip("s")


def phrase_in(phrase: str, said: str | list[str]) -> bool:
    """Whether ``phrase`` (alternatives ``a|b``) is in what was said."""
    return phrase_at(phrase, said) >= 0


def phrase_at(phrase: str, said: str | list[str]) -> int:
    """Where ``phrase`` (alternatives ``a|b``) last begins in what was said, or -1."""
    words = normalize(said) if isinstance(said, str) else said
    last = -1
    for option in phrase.split("|"):
        target = normalize(option)
        if not target:
            continue
        n = len(target)
        for i in range(len(words) - n + 1):
            if all(_same(words[i + k], target[k]) for k in range(n)):
                last = max(last, i)
    return last


def repeated_run(text: str, n: int = 4) -> str:
    """The first run of ``n`` words heard twice (a sentence repeated after a stop), or ""."""
    words = normalize(text)
    seen: set[tuple[str, ...]] = set()
    for i in range(len(words) - n + 1):
        gram = tuple(words[i : i + n])
        if gram in seen:
            return " ".join(gram)
        seen.add(gram)
    return ""


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edits, reference words): the word error rate's numerator and denominator."""
    ref, hyp = normalize(reference), normalize(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1], len(ref)
