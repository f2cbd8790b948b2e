"""Digit strings in what a caller said or keyed: "94110", "nine four one one oh", "941-10".

Keypad digits reach the agent as a user turn of digits; spoken ones come through the
recognizer as words, or as numbers it formats its own way ("941-1-0"). Both become runs of
digits for a pattern slot (a zip code, a phone number) to check.
"""

from __future__ import annotations

import re

_WORDS = {
    "zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "to": "2", "too": "2",
    "three": "3", "four": "4", "for": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "ate": "8", "nine": "9",
}  # fmt: skip
_HOMOPHONES = {"oh", "o", "to", "too", "for", "ate"}  # digits only beside other digits
_TOKEN = re.compile(r"[a-z]+|\d+")


def digits_in(text: str) -> list[str]:
    """Runs of digits, longest first. Separators inside a number ("941-10", "9 4 1") join;
    "double five" is 55."""
    tokens = _TOKEN.findall(text.lower())
    runs: list[str] = []
    run: list[str] = []
    pending: list[str] = []  # homophones waiting for a digit beside them
    double = False
    for tok in tokens:
        if tok in ("double", "triple"):
            double = tok
            continue
        digit = tok if tok.isdigit() else _WORDS.get(tok)
        if digit is None:
            if run:
                runs.append("".join(run))
            run, pending, double = [], [], False
            continue
        if tok in _HOMOPHONES and not run:
            pending.append(digit)
            continue
        if pending:
            run.extend(pending)
            pending = []
        times = {"double": 2, "triple": 3}.get(double or "", 1)
        run.append(digit * times)
        double = False
    if run:
        runs.append("".join(run))
    return sorted(runs, key=len, reverse=True)
