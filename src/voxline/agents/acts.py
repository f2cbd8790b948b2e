"""The phrases of each dialog act a caller's utterance may carry (pure patterns).

Yes, no, cancel, start over, read back, repeat, done, goodbye, menu and price questions, a new
item, a change, and "no toppings": ``understand.py`` reads them off the words, ``dialog.py``
decides what they do.
"""

from __future__ import annotations

import re


def phrases(*alternatives: str) -> re.Pattern[str]:
    """Any of the alternatives, as whole words of a normalized utterance."""
    return re.compile(r"\b(" + "|".join(alternatives) + r")\b")


YES = phrases(
    "yes", "yeah", "yep", "yup", "ya", "sure", "correct", "right", "exactly", "please do",
    "go ahead", "sounds good", "perfect", "ok", "okay", "absolutely", "definitely", "of course",
    "do it", "place it", "that's it", "that is it", "affirmative", "great", "fine",
    "uh huh", "mm hmm", "mhm",
)  # fmt: skip
NO = phrases(
    "no", "nope", "nah", "not really", "wrong", "incorrect", "not right", "that's not",
    "don't", "do not", "not quite",
)  # fmt: skip
CANCEL = phrases(
    r"cancel(l?ed)?(?! that)", r"can'?t (sell|solve) my order",
    r"cancel (my|the|this) (order|pizza)s?", "cancel it",
    r"(don't|do not) want (it|the order|the pizzas?|anything) any ?more", "forget the order",
    "call off",
)  # fmt: skip
RESTART = phrases("start over", "start again", "scratch that", "from the beginning", "cancel that")
READBACK = phrases(
    r"read (it|that|this|my order|the order|everything|them)? ?back", r"read (me )?(my|the) order",
    r"repeat (my|the) order", r"what('s| is| was) (in )?(my|the) order", "what did i order",
    r"what (do|have) i (have|got|ordered)", r"what i (have|ordered)",
    r"go (over|through) (my|the) order", r"(my|the) order so far", "what have i got",
    r"recap", r"check (my|the) order",
)  # fmt: skip
REPEAT = phrases(
    "sorry", "pardon", "say that again", "say it again", "repeat that", "repeat it",
    "repeat yourself", "what was that", "come again", "what did you say",
    r"(can|could|would) you (please )?repeat(?! (my|the) order)", r"^repeat( please)?$",
    r"didn't (catch|hear|get)",
    r"^(what|what is it|what was it|what's that|what is that)$",  # a bare "what?" names nothing
    # a bare "huh?": "uh-huh" is a yes, "And then, huh?" a backchannel whisper garbled
    "one more time", "again please", "excuse me", "^huh$",
)  # fmt: skip
DONE = phrases(
    "that's all", "that is all", "that's it", "that is it", "nothing else", "no thanks",
    "no thank you", "i'm good", "i'm done", "that'll be all", "that will be all", "all good",
    "that's everything", "nothing more", "i'm all set", "all set", "we're good",
)  # fmt: skip
BYE = phrases(
    "bye", "goodbye", "good bye", "bye bye", "hang up", "see you", "have a good (day|night)"
)
MENU = phrases(
    "what", "which", "options", "menu", "choices", "do you have", "do you do", "kinds", "list",
    "do you make", "do you offer", "available", "are there", "you got",
)  # fmt: skip
PRICE = phrases("how much", "price", "prices", "cost", "costs", "total", "charge")
NEW_ITEM = phrases(
    "another", "one more", "also", "second pizza", "add a", "and a", "as well", "plus a",
    "extra pizza",
)  # fmt: skip
CHANGE = phrases(
    "make it", "make that", "change", "switch", "swap", "instead", "actually", "rather"
)
NONE = phrases(
    "no toppings", "no topping", "none", "nothing", "plain", "just cheese", "just the cheese",
    "no extras",
)  # fmt: skip
