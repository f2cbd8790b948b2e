"""Turn-taking policy: listener events and the bot's speaking state in, decisions out.

Pure and clock-injected (every input carries its time), so every rule is tested in virtual
time. The rules follow ACE's ``handle user transcript with interruption`` flow:

- mode ``final``: reply when the final transcript arrives;
- mode ``interim``/``partial``: reply speculatively on the first-pass transcript, confirm it
  when the final matches, retract and retrigger when the final differs, and cancel when the
  caller resumes speaking before the final;
- barge-in: caller speech of at least ``barge_in_min_ms`` with a transcript that is not a
  filler ("mm-hmm", "yeah") interrupts the bot: at once if it names an interruption word
  ("no", "wait", "sorry") or goes on from a filler ("Okay, I'll have a..."), else once a
  second transcript of the caller's words is not a filler either and means something to the
  agent (when it can tell); ducked speech that goes on for ``interrupt_after_ms`` (since its
  latest filler) interrupts too. An onset over the bot holds it first (``overlap``:
  ducked, or paused), released for a filler, for no words, for a final that means nothing,
  or when the onset was noise;
- with ``release_after_ms``, an early reply held for the final is released sooner once its
  transcript looks like a whole sentence (it ends on ".", "?" or "!", not on "..." or ",",
  nor on a word no sentence ends on) and the caller has been silent that long; speech that
  comes back before the final stops it at once: it answered half a sentence;
- a final that ends on a word no sentence ends on ("with", "and", "a") is held for
  ``unfinished_wait_s``: the caller is thinking, and the rest, if it comes, joins it;
- optional re-prompt and hang-up after long silences.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from voxline.bot import TurnSettings
from voxline.events import (
    ListenerEvent,
    SpeechStarted,
    SpeechStopped,
    Transcript,
    TranscriptKind,
)
from voxline.transcript_shape import normalize, unfinished, whole_sentence


@dataclass(frozen=True, slots=True)
class Respond:
    text: str
    speculative: bool = False  # started before the final transcript: may be retracted
    replace: bool = False  # replaces the user turn of a retracted reply (retrigger)
    speech_end: float | None = None


@dataclass(frozen=True, slots=True)
class Confirm:
    """The speculative reply's turn is confirmed by the final transcript."""


@dataclass(frozen=True, slots=True)
class Release:
    """The early reply's turn looks complete (its words and ``release_after_ms`` of silence):
    it may be heard before the final confirms it. Side-effect tools still wait for the final."""


@dataclass(frozen=True, slots=True)
class Cancel:
    """Drop the reply in flight (not yet heard): the caller kept talking or said otherwise."""

    reason: str


@dataclass(frozen=True, slots=True)
class Interrupt:
    """Barge-in: stop the bot's audio now and cancel its reply. ``doubtful``: no interruption
    word said so, only more speech (a backchannel whisper garbled twice looks the same); if
    the caller's turn then means nothing to the agent, the bot goes on where it was cut."""

    onset: float
    text: str
    doubtful: bool = False


@dataclass(frozen=True, slots=True)
class Pause:
    """Caller speech began over the bot: hold it (silence it, or with ``duck`` lower it and
    let it talk on), decide when the words are known."""

    onset: float
    duck: bool = False


@dataclass(frozen=True, slots=True)
class Resume:
    """The hold was for a backchannel or noise: back to full volume, or after a pause the
    unfinished sentence repeated."""

    reason: str


@dataclass(frozen=True, slots=True)
class Eager:
    """Ask the recognizer for partial transcripts (on) or stop asking (off). ``soon``: the
    next one after a little more speech than usual: words with no interruption word wait for
    that second look, with the bot ducked."""

    on: bool
    soon: bool = False


@dataclass(frozen=True, slots=True)
class Reprompt:
    pass


@dataclass(frozen=True, slots=True)
class Hangup:
    reason: str


Decision = (
    Respond | Confirm | Release | Cancel | Pause | Resume | Interrupt | Eager | Reprompt | Hangup
)

# A hum whisper spelt its own way over the bot: "Mm-huh", "M-H-N", "Mm-hm", "Mm-hum" (6 of
# 84 backchannels in the bench's 14 voices came out so, of 22 that were no filler); none of
# 112 interruptions ("Wait.", "No, no.", "Hold on.") is made of these letters only.
_HUM = re.compile(r"^(?=.*[mh])[mhnu]+(-[mhnu]+)*$")


class TurnTaker:
    def __init__(
        self, settings: TurnSettings, now: float = 0.0, means: Callable[[str], bool] | None = None
    ) -> None:
        self.s = settings
        # Whether words said now would mean something to the agent (None: it cannot tell).
        self.means = means
        self.speech_onset: float | None = None  # caller is speaking since
        self.last_onset: float | None = None  # onset of the latest utterance, even if over
        self.bot_speaking = False
        self.paused = False  # the bot is silenced while the caller's words are unknown
        self.stopped_at: float | None = None  # when the caller's latest utterance ended
        self.pending: str | None = None  # user text of the reply in flight (not yet heard)
        self.speculative = False  # the pending reply is not confirmed yet
        self.released = False  # the pending early reply may be heard before its final
        self._early_end: float | None = None  # end of the speech the early reply answers
        self.last_activity = now
        self.reprompted = False
        self._replace_next = False  # a retracted early reply's user turn is to be replaced
        self.held: Transcript | None = None  # an unfinished final waiting for its rest
        self._early_words: Transcript | None = None  # words over the bot before barge_in_min_ms
        self._unconfirmed: Transcript | None = None  # words over the bot, no interruption word
        self._backchannel = ""  # the filler the caller's latest words over the bot began with
        self._filler_at = 0.0  # when the latest look at words over the bot found a filler
        self._fillers = set(settings.filler_words)
        self._include = set(settings.include_words)
        self._interrupt = re.compile(
            r"\b(" + "|".join(map(re.escape, settings.interrupt_words)) + r")\b"
        ) if settings.interrupt_words else None  # fmt: skip

    # --- filters ----------------------------------------------------------------------------

    def is_filler(self, text: str) -> bool:
        """ACE's IsSpuriousAction: a filler word, or under ``min_chars`` unless included."""
        norm = normalize(text)
        if norm in self._include:
            return False
        if len(norm) < self.s.min_chars:
            return True
        words = norm.split()
        if norm in self._fillers or all(w in self._fillers or _HUM.match(w) for w in words):
            return True
        # One short syllable said twice is a backchannel whisper spelt its own way: a Kokoro
        # voice's "Mm-hmm." came out as "In-in?" and stopped the bot.
        parts = re.split(r"[\s-]+", norm)
        one = parts[0]
        return (
            len(parts) > 1 and len(set(parts)) == 1 and len(one) <= 3 and one not in self._include
        )

    def interrupts(self, text: str) -> bool:
        """Whether words over the bot name an interruption word ("No, no", "Wait")."""
        return self._interrupt is not None and bool(self._interrupt.search(normalize(text)))

    def is_noise(self, text: str) -> bool:
        """Outside bot speech only empty or one-letter text is dropped: "yes" is an answer."""
        norm = normalize(text)
        return norm not in self._include and len(norm) < 2

    # --- inputs -----------------------------------------------------------------------------

    def on_event(self, event: ListenerEvent, now: float) -> list[Decision]:
        if isinstance(event, SpeechStarted):
            return self._speech_started(event, now)
        if isinstance(event, SpeechStopped) and event.noise:
            self.speech_onset = None  # a sound, not speech: nobody is talking over the bot
            self.last_activity = now
            if self.paused:
                self.paused, self._unconfirmed = False, None
                return [Resume("noise")]
            return []
        if isinstance(event, SpeechStopped):
            if self._early_end is not None and event.t > self._early_end + 0.05:
                self._early_end = None  # words after the early reply's: only the final can tell
            self.last_onset, self.speech_onset = self.speech_onset, None
            self.stopped_at = event.t
            self.last_activity = now
            return []
        return self._transcript(event, now)

    def on_bot_speaking(self, speaking: bool, now: float) -> list[Decision]:
        """The playout started or finished the bot's audio (a finished reply is no longer
        pending)."""
        self.bot_speaking = speaking
        self.last_activity = now
        if not speaking:
            self.paused = False
            self._early_words = self._unconfirmed = None
            self.pending = None
            self.speculative = False
        # Partials are only needed to vet barge-ins while the bot is talking.
        return [Eager(speaking)]

    @property
    def wants_onsets(self) -> bool:
        """Whether a speech onset would change anything now: over the bot, during a pause, over
        an early reply, or while an unfinished sentence waits for its rest (the wait is counted
        from the caller's latest stop: on the Riva stack, whose VAD runs only when wanted, the
        held "a large pizza with..." was answered in the middle of its rest)."""
        speculative = self.pending is not None and self.speculative
        return self.bot_speaking or self.paused or speculative or self.held is not None

    @property
    def pausable(self) -> bool:
        """Whether a sudden sound counts as an onset before the VAD confirms it is speech: it
        may pause the bot (a pause can be undone, a cancelled early reply not) or hold back a
        release."""
        s = self.s
        return self._releasing or (
            self.bot_speaking
            and s.barge_in
            and s.pause_on_speech
            and s.pause_on_sound
            and not self.paused
        )

    @property
    def _releasing(self) -> bool:
        """A held early reply may be released before its final: a loud frame (20 ms after the
        caller goes on, where Silero's onset comes 100-300 ms late) holds the release back, or
        stops the released reply."""
        return (
            self.s.release_after_ms > 0
            and self.s.hold_playback_until_confirmed
            and self.pending is not None
            and self.speculative
        )

    def on_reply_done(self, now: float) -> None:
        """The reply produced nothing audible (or finished): no reply is in flight."""
        if not self.bot_speaking:
            self.pending = None
            self.speculative = False
        self.last_activity = now

    def tick(self, now: float) -> list[Decision]:
        if self._early_words is not None and self.bot_speaking and self._barge_in_ready(now):
            words, self._early_words = self._early_words, None
            return self._transcript(words, now)  # the words stand: the caller talks on
        if (
            self.paused
            and self.speech_onset is None
            and self.stopped_at is not None
            and now - self.stopped_at >= self.s.resume_after_s
        ):
            self.paused, self._unconfirmed = False, None  # noise: no words came of it
            return [Resume("no words")]
        if self.paused and self.s.overlap == "duck" and self._doubted_long(now):
            onset, words = self.speech_onset or now, self._unconfirmed
            self.paused, self._unconfirmed = False, None
            self.bot_speaking, self.pending, self.speculative = False, None, False
            return [Interrupt(onset, words.text if words else "", doubtful=True), Eager(False)]
        if self._releasable(now):
            self.released = True
            return [Release()]
        if self.bot_speaking or self.pending is not None or self.speech_onset is not None:
            return []
        if self.held is not None:
            # from the caller's latest stop: a rest that came with a pause of its own ("ham
            # and pineapple, thin crust") is not cut at its comma
            since = max(self.held.t, self.stopped_at or 0.0)
            if now - since < self.s.unfinished_wait_s:
                return []
            held, self.held = self.held, None
            return self._final(held, hold=False)
        silent = now - self.last_activity
        if self.s.hangup_after_s and silent >= self.s.hangup_after_s:
            self.last_activity = now
            return [Hangup("silence")]
        if self.s.reprompt_after_s and silent >= self.s.reprompt_after_s and not self.reprompted:
            self.reprompted = True
            return [Reprompt()]
        return []

    # --- rules ------------------------------------------------------------------------------

    def _speech_started(self, event: SpeechStarted, now: float) -> list[Decision]:
        self.speech_onset = event.t
        self._backchannel = ""
        self.last_activity = now
        self.reprompted = False
        if self.bot_speaking and self.speculative and self.released:
            # The caller goes on with the sentence the bot released too soon: stop it now.
            self.bot_speaking, self.pending, self.speculative = False, None, False
            self.released, self._replace_next = False, True
            return [Interrupt(event.t, ""), Eager(False)]
        if self.bot_speaking and self.s.barge_in and self.s.pause_on_speech and not self.paused:
            self.paused = True
            return [Pause(event.t, duck=self.s.overlap == "duck")]
        if self._releasing and not self.released:
            return []  # not heard yet: the release waits, the final decides
        if self.pending is not None and self.speculative and not self.bot_speaking:
            # The caller resumed before the final: the early reply was premature.
            self.pending, self.speculative = None, False
            self._replace_next = True
            return [Cancel("caller resumed speaking")]
        return []

    def _releasable(self, now: float) -> bool:
        return (
            self._releasing
            and not self.released
            and not self.bot_speaking
            and self.speech_onset is None
            and self._early_end is not None
            and now - self._early_end >= self.s.release_after_ms / 1000 - 1e-9  # float times
            and whole_sentence(self.pending or "")
        )

    def _barge_in_ready(self, now: float) -> bool:
        if self.speech_onset is None:
            return True  # the utterance already ended; its transcript proves it was speech
        return (now - self.speech_onset) * 1000 >= self.s.barge_in_min_ms

    def _transcript(self, tr: Transcript, now: float) -> list[Decision]:
        self.last_activity = now
        if self.bot_speaking:
            onset = next((t for t in (self.speech_onset, self.last_onset) if t is not None), tr.t)
            if self.speculative and tr.kind is TranscriptKind.FINAL:
                # The final for the turn the bot is already answering early (the rest of a
                # held sentence: the early reply answered the whole, so does the final).
                tr = self._with_held(tr)
                if normalize(self.pending or "") == normalize(tr.text):
                    self.speculative = False
                    return [Confirm()]
                self.bot_speaking, self.pending, self.speculative = False, tr.text, False
                self.paused = False
                return [
                    Interrupt(onset, tr.text),
                    Eager(False),
                    Respond(tr.text, replace=True, speech_end=tr.speech_end),
                ]
            if not self.s.barge_in:
                return []  # words over the bot are not heard: it talks to the end
            if self.is_filler(tr.text):
                self._early_words = self._unconfirmed = None  # a filler after all
                self._backchannel, self._filler_at = normalize(tr.text), now
                if self.paused and self.speech_onset is None:
                    self.paused = False
                    return [Resume(f"filler {tr.text!r}")]
                return []
            if not self._barge_in_ready(now):
                self._early_words = tr  # decided at the next tick, once speech has lasted
                return []
            self._early_words = None
            goes_on = normalize(tr.text).startswith(f"{self._backchannel} ")
            sure = self.interrupts(tr.text) or goes_on
            meant = sure or self._meant(tr.text)
            if not sure and not (meant and self._confirms(tr)):
                if tr.kind is TranscriptKind.FINAL and not meant and self.paused:
                    self.paused, self._unconfirmed = False, None
                    return [Resume(f"nothing meant by {tr.text!r}")]
                self._unconfirmed = tr  # another look at more of the speech decides
                return [Eager(True, soon=True)]
            # An utterance that began as words with no interruption word stays in doubt: a
            # Kokoro "Mm-hmm." was "In it?", then "No." on its second look.
            doubtful = not sure or self._unconfirmed is not None
            self._unconfirmed = None
            self.paused = False
            self.bot_speaking, self.pending, self.speculative = False, None, False
            out: list[Decision] = [Interrupt(onset, tr.text, doubtful=doubtful), Eager(False)]
            return out + self._transcript(tr, now)
        if self.is_noise(tr.text):
            return []
        if tr.kind is TranscriptKind.FINAL:
            return self._final(tr)
        early = (self.s.mode == "interim" and tr.kind is TranscriptKind.INTERIM) or (
            self.s.mode == "partial" and tr.kind is not TranscriptKind.FINAL
        )
        # A filler ("yes", "okay") may begin a longer turn: answered early only when the reply
        # is held until the turn looks complete.
        filler = self.is_filler(tr.text) and not self.s.hold_playback_until_confirmed
        if not early or filler or unfinished(tr.text):
            return []
        text = self._joined(tr.text)  # the rest of a held sentence answers the whole
        if self.pending is not None and normalize(self.pending) == normalize(text):
            return []
        out = []
        replace, self._replace_next = self._replace_next, False
        if self.pending is not None and self.speculative:
            out.append(Cancel("transcript changed"))
            replace = True
        self.pending, self.speculative = text, True
        self.released, self._early_end = False, tr.speech_end
        return [*out, Respond(text, speculative=True, replace=replace, speech_end=tr.speech_end)]

    def _meant(self, text: str) -> bool:
        """Whether words over the bot may stop it: words that mean nothing to the agent are a
        backchannel whisper garbled ("Both have them.", "Hey, name Hamah." for "Uh-huh",
        "Mm-hmm") or the start of words that will ("Make it a-"): the bot stays ducked until
        they do, the speech lasts ``interrupt_after_ms`` (``tick``), or their final means
        nothing."""
        return self.means is None or self.means(text)

    def _doubted_long(self, now: float) -> bool:
        """The caller has talked over the bot long enough to stop it with no meaning known,
        counted from the latest look that was a filler (a slow "Mm-hmm, yeah." is one)."""
        if self.speech_onset is None:
            return False
        since = max(self.speech_onset, self._filler_at)
        return (now - since) * 1000 >= self.s.interrupt_after_ms

    def _confirms(self, tr: Transcript) -> bool:
        """Whether ``tr`` is a second transcript of words over the bot, of more speech than
        the first (a final that repeats its interim heard no more)."""
        first = self._unconfirmed
        if first is None:
            return False
        return tr.kind is not TranscriptKind.FINAL or normalize(tr.text) != normalize(first.text)

    def _joined(self, text: str) -> str:
        """``text`` as the rest of the held unfinished sentence, if one waits for it."""
        return f"{self.held.text} {text}" if self.held is not None else text

    def _with_held(self, tr: Transcript) -> Transcript:
        """The final ``tr`` joined to the held sentence, which it uses up."""
        if self.held is None:
            return tr
        tr = Transcript(tr.kind, self._joined(tr.text), tr.t, tr.speech_end)
        self.held = None
        return tr

    def _final(self, tr: Transcript, hold: bool = True) -> list[Decision]:
        tr = self._with_held(tr)
        if hold and self.s.unfinished_wait_s and unfinished(tr.text):
            self.held = tr
            if self.pending is not None and self.speculative:  # answered too early
                self.pending, self.speculative = None, False
                self._replace_next = True
                return [Cancel("unfinished sentence")]
            return []
        if self.pending is not None and self.speculative:
            if normalize(self.pending) == normalize(tr.text):
                self.speculative = False
                return [Confirm()]
            self.pending, self.speculative = tr.text, False
            return [
                Cancel("final transcript differs"),
                Respond(tr.text, replace=True, speech_end=tr.speech_end),
            ]
        out: list[Decision] = []
        if self.pending is not None:
            out.append(Cancel("caller added to the turn"))
        replace, self._replace_next = self._replace_next, False
        self.pending, self.speculative = tr.text, False
        return [*out, Respond(tr.text, replace=replace, speech_end=tr.speech_end)]
