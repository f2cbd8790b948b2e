"""Keypad (DTMF) input: the digits a caller presses become a turn of the conversation.

A key the bot's keypad maps in the current state ("press 1 to order") is a turn at once, as
the words it stands for; other keys are collected into a number (a zip code, a phone number)
that ends with the end key (``#``), a pause of ``timeout_s`` or ``max_digits`` keys, and goes to
the agent as the digits themselves. Per bot, in ``bot.yaml``::

    keypad:
      end: "#"
      timeout_s: 3
      keys: {"1": "I'd like to order", "2": "What's on the menu?", "0": transfer}
      states:                 # while the bot's latest line mentions this, these keys instead
        zip code: {}          # (none: every key is part of the number)

``transfer`` stands for asking for a person (``voxline.transfer``). The aggregator is pure (the
call passes the clock and what the bot said), so it is tested in virtual time. Digits never
reach the turn taker: they are not speech and never count towards a barge-in; a key pressed
while the bot speaks stops it, as a phone menu does (``interrupt: false`` lets it talk on).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from voxline.bot import Bot, BotError
from voxline.events import BotSaid, CallNote
from voxline.transfer import KEYPAD_TEXT

KEYS = frozenset("0123456789*#")


@dataclass(frozen=True)
class KeypadSettings:
    keys: dict[str, str] = field(default_factory=dict)  # key -> what it means (a caller line)
    states: tuple[tuple[str, dict[str, str]], ...] = ()  # (words in the bot's line, keys)
    end: str = "#"
    timeout_s: float = 3.0
    max_digits: int = 20
    interrupt: bool = True

    def keys_for(self, bot_line: str) -> dict[str, str]:
        line = bot_line.lower()
        return next((keys for words, keys in self.states if words in line), self.keys)


def _keys(raw: object, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise BotError(f"{where}: expected a mapping of keys to what they mean")
    keys = {str(k): str(v) for k, v in raw.items()}
    if bad := [k for k in keys if k not in KEYS]:
        raise BotError(f"{where}: {bad[0]!r} is not a phone key (0-9, * or #)")
    return {k: KEYPAD_TEXT if v == "transfer" else v for k, v in keys.items()}


def keypad_settings(bot: Bot) -> KeypadSettings:
    """The bot's ``keypad:`` section (none: keys only enter numbers, ended by # or a pause)."""
    spec = bot.spec.get("keypad") or {}
    where = f"{bot.path / 'bot.yaml'}: keypad"
    if not isinstance(spec, dict):
        raise BotError(f"{where}: expected a mapping")
    states = spec.get("states") or {}
    if not isinstance(states, dict):
        raise BotError(f"{where}.states: expected a mapping of words to keys")
    try:
        return KeypadSettings(
            keys=_keys(spec.get("keys"), f"{where}.keys"),
            states=tuple(
                (str(w).lower(), _keys(k, f"{where}.states.{w}")) for w, k in states.items()
            ),
            end=str(spec.get("end", "#")),
            timeout_s=float(spec.get("timeout_s", 3.0)),
            max_digits=int(spec.get("max_digits", 20)),
            interrupt=bool(spec.get("interrupt", True)),
        )
    except (TypeError, ValueError) as exc:
        raise BotError(f"{where}: {exc}") from None


@dataclass(frozen=True, slots=True)
class Keyed:
    """A keypad turn: ``text`` goes into the conversation as the caller's words."""

    text: str
    keys: str


class KeypadAggregator:
    """Keys in, keypad turns out; ``observe`` follows what the bot says (the menu state)."""

    def __init__(self, settings: KeypadSettings) -> None:
        self.settings = settings
        self.pending = ""
        self._last_at = 0.0
        self.bot_line = ""

    def observe(self, note: CallNote) -> None:
        """A call observer: the bot's latest segment decides which keys mean what."""
        if isinstance(note, BotSaid):
            self.bot_line = note.text

    def press(self, key: str, now: float) -> Keyed | None:
        s = self.settings
        if key == s.end:
            return self._flush()
        keys = s.keys_for(self.bot_line)
        if not self.pending and key in keys:
            return Keyed(keys[key], key)
        self.pending += key
        self._last_at = now
        return self._flush() if len(self.pending) >= s.max_digits else None

    def tick(self, now: float) -> Keyed | None:
        """A pause after the last key ends the number."""
        if self.pending and now - self._last_at >= self.settings.timeout_s:
            return self._flush()
        return None

    def _flush(self) -> Keyed | None:
        keys, self.pending = self.pending, ""
        return Keyed(keys, keys) if keys else None
