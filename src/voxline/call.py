"""One conversation: caller audio in, turn decisions, agent replies spoken back.

``Call`` wires the stages (VAD and recognizer, turn taker, agent, splitter, synthesizer,
playout) and holds the only per-call state. Each reply runs as one task that can be cancelled
at any await (its words from ``reply_segments.py``); what the caller heard is written to the
history from the playout's mark echoes.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator, Callable, Sequence

from voxline import logs
from voxline.call_services import CallServices, Observer
from voxline.events import (
    AudioIn,
    BackendFailed,
    BotAudio,
    BotSaid,
    BotStopped,
    CallEnded,
    CallerAudio,
    CallNote,
    CallStop,
    Digit,
    ListenerEvent,
    MarkPlayed,
    Transcript,
    TranscriptKind,
    TransportEvent,
    TurnEnded,
)
from voxline.history import History
from voxline.keypad import Keyed, KeypadAggregator, keypad_settings
from voxline.playout import Outbound, Playout, Segment
from voxline.reply import Reply
from voxline.reply_segments import reply_segments
from voxline.resilience import reporting_to
from voxline.sample_clock import SampleClock
from voxline.speak_ahead import SpeakAhead
from voxline.speech.base import AudioFormat, RecognizerHints
from voxline.speech.resilient_asr import UtteranceLost
from voxline.speech.vad_gate import GatedVad
from voxline.tools import ToolBox, ToolContext
from voxline.turns import (
    Cancel,
    Confirm,
    Decision,
    Eager,
    Hangup,
    Interrupt,
    Pause,
    Release,
    Reprompt,
    Respond,
    Resume,
    TurnTaker,
)

log = logging.getLogger("voxline.call")
UNHEARD = "Sorry, I didn't catch that. Could you say it again?"  # the recognizer lost the words
ANSWERING = ("rag", "plugin", "nvidia_rag")  # bots whose spoken reply answers a question


class Call:
    def __init__(
        self,
        services: CallServices,
        out: Outbound,
        fmt: AudioFormat,
        call_id: str,
        clock: Callable[[], float],
        observers: Sequence[Observer] = (),
    ) -> None:
        self.s = services
        self.bot = services.bot
        self.out = out
        self.fmt = fmt
        self.call_id = call_id
        self.clock = clock
        self.history = History(self.bot.prompt)
        self.agent = services.agent_factory() if services.agent_factory else None
        self.tools = ToolBox(list(self.bot.tools))
        self.context = ToolContext(call_id, services.records, self.bot.data)
        understands = getattr(self.agent, "understands", None)
        means = (lambda text: understands(self.history, text)) if understands else None
        self.turns = TurnTaker(self.bot.turns, clock(), means)
        self.observers = list(observers)
        self.observers += [o for make in services.observers if (o := make(self)) is not None]
        self.hearers = [o for o in self.observers if getattr(o, "hears_audio", False)]
        self.keypad = KeypadAggregator(keypad_settings(self.bot))
        self.observers.append(self.keypad.observe)  # the bot's lines are the keypad's state
        on_frame = self._bot_frame if self.hearers else None
        self.playout = Playout(out, clock, self._on_speaking, self._on_heard, on_frame=on_frame)
        self.sample_clock = SampleClock(fmt.rate, clock)
        endpointing = services.recognizer.caps.endpointing
        self.vad = GatedVad(services.vad, fmt.rate, endpointing) if services.vad else None
        hints = RecognizerHints(
            language=self.bot.voice.language,
            phrases=self.bot.vocabulary,
            example=self.bot.example,
            topics=self.bot.topics,
            places=self.bot.places,
            stop_history_ms=self.bot.turns.stop_history_ms,
            stop_history_eou_ms=self.bot.turns.stop_history_eou_ms,
            interim=self.bot.turns.mode != "final" or not endpointing,
        )
        self.recognition = services.recognizer.open(fmt, hints)
        self.reply: Reply | None = None
        self._resuming: asyncio.Task | None = None
        # What a doubtful interruption cut of a reply (its cut sentence on), until more is heard.
        self._cut: tuple[Reply, list[str]] | None = None
        self._interim_at: float | None = None  # when the latest first-pass transcript came
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task] = set()
        self._writes: set[asyncio.Task] = set()  # turn records: finished, never cancelled
        self.ended = asyncio.Event()
        self.end_reason = ""
        self.outcome = "hung up"
        self.transfer_to = ""  # the bot handed the call to this number (voxline.transfer)
        self.driver = services.dialog(self) if services.dialog else None

    # --- the call's life --------------------------------------------------------------------

    async def run(self, events: AsyncIterator[TransportEvent]) -> None:
        """Serve the call until the caller hangs up or the bot ends it."""
        with reporting_to(self.note):  # failures that shared providers absorbed, noted here
            await self._serve(events)

    async def _serve(self, events: AsyncIterator[TransportEvent]) -> None:
        logs.call_id.set(self.call_id)  # the call's tasks copy it: their log lines carry it
        listener = asyncio.create_task(self._transcripts(), name=f"{self.call_id}-transcripts")
        ticker = asyncio.create_task(self._ticker(), name=f"{self.call_id}-ticker")
        ender = asyncio.create_task(self.ended.wait())
        if self.driver is not None:
            driving = asyncio.create_task(self.driver.run(), name=f"{self.call_id}-dialog")
            self._tasks.add(driving)
        try:
            if self.bot.greeting:
                self._start_reply(None, text=self.bot.greeting)
            inbound = asyncio.create_task(self._inbound(events), name=f"{self.call_id}-inbound")
            await asyncio.wait({inbound, ender, listener}, return_when=asyncio.FIRST_COMPLETED)
            if listener.done() and (exc := listener.exception()):
                log.error("call %s: recognizer failed: %r", self.call_id, exc)
                self.note(BackendFailed("asr", repr(exc)))
            inbound.cancel()
        finally:
            for task in (listener, ticker, ender, *self._tasks):
                task.cancel()
            if self.reply and self.reply.task:
                self.reply.task.cancel()
            await self.recognition.aclose()
            await asyncio.gather(listener, ticker, ender, *self._tasks, return_exceptions=True)
            if self.reply:
                await self._finish_reply(self.reply, self.reply.outcome or "hung up")
            await asyncio.gather(*self._writes)
            self.note(CallEnded(self.end_reason, self.outcome))

    def end(self, reason: str, goodbye: str = "") -> None:
        """End the call from outside (the server is shutting down). With ``goodbye`` the bot
        says it first and the call ends once it has played; without, at once."""
        self.end_reason = self.end_reason or reason
        if goodbye and not self.ended.is_set():
            self._cancel_reply("cancelled")
            self._start_reply(None, text=goodbye).end_call = True
        else:
            self.ended.set()

    async def _inbound(self, events: AsyncIterator[TransportEvent]) -> None:
        async for event in events:
            if isinstance(event, AudioIn):
                await self._audio(event)
            elif isinstance(event, MarkPlayed):
                self._mark(event.name)
            elif isinstance(event, Digit):
                await self._key(event.digit)
            elif isinstance(event, CallStop):
                self.end_reason = self.end_reason or "caller hung up"
                return

    def note(self, note: CallNote, observers: list[Observer] | None = None) -> None:
        """Tell the observers (metrics, traces, pages); one that raises is dropped, never
        the call."""
        for observer in list(self.observers if observers is None else observers):
            try:
                observer(note)
            except Exception:
                log.exception("call %s: observer %r failed, dropped", self.call_id, observer)
                self.observers.remove(observer)
                if observer in self.hearers:
                    self.hearers.remove(observer)

    def _bot_frame(self, pcm: bytes, t: float) -> None:
        self.note(BotAudio(pcm, self.out.rate, t), self.hearers)

    async def _audio(self, audio: AudioIn) -> None:
        start, end = self.sample_clock.frame(len(audio.pcm))
        if self.hearers:
            self.note(CallerAudio(audio.pcm, self.fmt.rate, start), self.hearers)
        speaking = None  # unknown to the recognizer while the VAD is off
        if self.vad is not None:
            edges = self.vad.push(audio.pcm, end, self.turns.wants_onsets, self.turns.pausable)
            if edges is not None:
                for edge in edges:
                    self.note(edge)
                    await self._hear(edge)
                speaking = self.vad.voiced
        await self.recognition.send(AudioIn(audio.pcm, audio.raw, start), speaking)

    async def _transcripts(self) -> None:
        async for tr in self.recognition:
            if isinstance(tr, UtteranceLost):  # the recognizer failed while the caller spoke
                log.info("call %s: the caller's words were lost (%s)", self.call_id, tr.why)
                self._start_reply(None, text=UNHEARD)
                continue
            log.info("call %s: %s transcript %r", self.call_id, tr.kind, tr.text)
            self.note(tr)
            if tr.kind is TranscriptKind.INTERIM:
                self._interim_at = tr.t
            await self._hear(tr, tr)

    async def _hear(self, event: ListenerEvent, tr: Transcript | None = None) -> None:
        if self.driver is not None:
            self.driver.heard(event)
        else:
            await self._apply(self.turns.on_event(event, self.clock()), tr)

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(0.05)  # an early reply is released to the nearest 50 ms
            await self._apply(self.turns.tick(self.clock()))
            await self._keyed(self.keypad.tick(self.clock()))

    async def _key(self, key: str) -> None:
        """A keypad press stops the bot (as a phone menu does); a finished entry is the
        caller's turn (``voxline.keypad``). Keys never reach the turn taker: not speech."""
        log.info("call %s: DTMF %s", self.call_id, key)
        if self.keypad.settings.interrupt and self.reply is not None:
            await self.stop_reply(self.reply)
        await self._keyed(self.keypad.press(key, self.clock()))

    async def _keyed(self, keyed: Keyed | None) -> None:
        if keyed is None:
            return
        log.info("call %s: keypad turn %r (keys %s)", self.call_id, keyed.text, keyed.keys)
        now = self.clock()
        if self.driver is not None:
            self.driver.heard(Transcript(TranscriptKind.FINAL, keyed.text, now, now))
        else:
            await self._apply([Respond(keyed.text, speech_end=now)])

    # --- decisions --------------------------------------------------------------------------

    async def _apply(self, decisions: list[Decision], tr: Transcript | None = None) -> None:
        for d in decisions:
            if isinstance(d, Pause) and d.duck:
                self.playout.duck(self.bot.turns.duck_db)
            elif isinstance(d, Pause):
                await self.playout.pause()
                self._stopped_bot(d.onset, "pause")
            elif isinstance(d, Resume) and self.playout.ducked:
                log.info("call %s: back to full volume (%s)", self.call_id, d.reason)
                self.playout.unduck()
            elif isinstance(d, Resume):
                log.info("call %s: resume (%s)", self.call_id, d.reason)
                self._resuming = asyncio.create_task(self.playout.resume())
                self._tasks.add(self._resuming)
                self._resuming.add_done_callback(self._tasks.discard)
            elif isinstance(d, Interrupt):
                await self._interrupt(d)
            elif isinstance(d, Cancel):
                if self.reply and self.reply.user_text is not None:
                    log.info("call %s: cancel reply (%s)", self.call_id, d.reason)
                    self._cancel_reply("cancelled")
            elif isinstance(d, Respond):
                if d.replace:
                    self.history.replace_user(d.text)
                    if self.reply is not None and self.reply.user_text is not None:
                        self.reply.retracted = True
                else:
                    self.history.user(d.text)
                self._cancel_reply("replaced")
                reply = self._start_reply(d.text, speculative=d.speculative)
                reply.timings["speech_end"] = d.speech_end or 0.0
                if self._interim_at is not None:
                    reply.timings["interim"], self._interim_at = self._interim_at, None
                if tr is not None and tr.kind is TranscriptKind.FINAL:
                    reply.timings["final"] = tr.t
            elif isinstance(d, Confirm):
                if self.reply:
                    self.reply.timings["final"] = tr.t if tr else self.clock()
                    self.reply.confirmed.set()
                    self.reply.audible.set()
                    self.reply.speculative = False
            elif isinstance(d, Release):
                if self.reply:
                    self.reply.timings["released"] = self.clock()
                    self.reply.audible.set()
            elif isinstance(d, Eager):
                self.recognition.eager(d.on, d.soon)
            elif isinstance(d, Reprompt):
                self._start_reply(None, text="Are you still there?")
            elif isinstance(d, Hangup):
                self._start_reply(None, text="I'll let you go now. Goodbye!").end_call = True

    def _stopped_bot(self, onset: float, how: str) -> None:
        """Time from the caller's speech onset to the clear that silenced the bot."""
        took = self.clock() - onset
        if self.reply:  # a pause's clear is what the caller heard, not a later interrupt's
            self.reply.timings.setdefault("barge_in", took)
        self.note(BotStopped(self.reply.id if self.reply else 0, how, took))
        log.info("call %s: %s, clear %.0f ms after speech onset", self.call_id, how, 1000 * took)

    async def _interrupt(self, d: Interrupt) -> None:
        was_paused = self.playout.paused
        if self._resuming is not None:
            self._resuming.cancel()
        cut = await self.playout.clear()
        if not was_paused:
            self._stopped_bot(d.onset, "barge-in")
        log.info("call %s: interrupted by %r, %d segment(s) cut", self.call_id, d.text, len(cut))
        reply = self.reply
        self._cut = (reply, reply.unheard()) if d.doubtful and reply else None
        self._cancel_reply("interrupted")

    def cut_short(self) -> list[str]:
        """What the bot was saying when a doubtful interruption stopped it, from the cut
        sentence on (the caller heard nothing of it since), or nothing."""
        return list(self._cut[1]) if self._cut else []

    # --- the dialog driver's API ------------------------------------------------------------

    def say(
        self, text: str, user_text: str | None = None, speech_end: float | None = None
    ) -> Reply:
        """Speak ``text`` after what the bot is saying now; ``user_text`` is the caller's turn
        it answers (for the records), ``speech_end`` when that speech ended (latency)."""
        reply = self._start_reply(user_text, text=text)
        if speech_end is not None:
            reply.timings["speech_end"] = speech_end
        return reply

    async def stop_reply(self, reply: Reply, onset: float | None = None) -> str:
        """Stop ``reply`` now (barge-in): its audio cleared, its task cancelled. Returns what
        the caller heard of it, which stays in the history."""
        playing = self.playout.speaking or self.playout.has_pending
        if reply is self.reply and playing and not reply.outcome:
            # Its audio may all be sent (the task done) with the last of it still playing.
            reply.outcome = "interrupted"
            await self._interrupt(Interrupt(self.clock() if onset is None else onset, ""))
        elif reply.task is not None and not reply.task.done():
            reply.outcome = reply.outcome or "interrupted"
            reply.task.cancel()
        return " ".join(reply.heard)

    def _cancel_reply(self, outcome: str) -> None:
        reply = self.reply
        if reply is None or reply.task is None or reply.task.done():
            return
        reply.outcome = outcome
        reply.task.cancel()

    # --- replies ----------------------------------------------------------------------------

    def _start_reply(self, user_text: str | None, text: str = "", speculative: bool = False):
        reply = Reply(next(self._ids), user_text, speculative)
        reply.timings["respond"] = self.clock()
        if not speculative:
            reply.confirmed.set()
            reply.audible.set()
        previous, self.reply = self.reply, reply
        reply.task = asyncio.create_task(self._run_reply(reply, text, previous))
        return reply

    async def _run_reply(self, reply: Reply, text: str, previous: Reply | None) -> None:
        logs.turn_id.set(reply.id)  # in this reply task's own context
        if previous is not None and previous.task is not None:
            # A replaced reply finishes cancelling before this speaks. ``wait``, not a
            # suppressed await: this task's own cancellation (hang-up, shutdown) must stop it.
            await asyncio.wait({previous.task})
            await self._finish_reply(previous, previous.outcome or "replaced")
        segments: asyncio.Queue[str | None] = asyncio.Queue()
        ahead = SpeakAhead(
            lambda seg: self.s.synthesizer.synthesize(seg, self.out.rate, self.bot.voice),
            2 * self.out.rate,
            self._synthesis_failed,
            parallel=getattr(self.s.synthesizer, "parallel", 1),
            on_first=lambda: reply.timings.setdefault("first_segment", self.clock()),
        )
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(reply_segments(self, reply, text, segments, ahead))
                await self._speak(reply, segments, ahead)
        except Exception as exc:
            if _line_closed(exc):  # the caller hung up while the bot spoke
                log.info("call %s: reply %d stopped, the line is closed", self.call_id, reply.id)
            else:
                log.exception("call %s: reply %d failed", self.call_id, reply.id)
        finally:
            if self.reply is reply:
                self.turns.on_reply_done(self.clock())
        if not self.playout.has_pending:
            self._reply_over(reply)

    async def _speak(self, reply: Reply, segments: asyncio.Queue, ahead: SpeakAhead) -> None:
        """Play each segment as its audio comes, the next ones synthesized meanwhile."""

        async with asyncio.TaskGroup() as tg:
            tg.create_task(ahead.feed(segments))
            if self.bot.turns.hold_playback_until_confirmed:
                await reply.audible.wait()
            while (item := await ahead.ready.get()) is not None:
                seg, chunks = item
                self.note(BotSaid(reply.id, seg))
                await self.playout.play(seg, ahead.audio(chunks), owner=reply)
                reply.timings.setdefault("first_audio", self.playout.first_audio_at or 0.0)

    def _synthesis_failed(self, seg: str, exc: Exception) -> None:
        log.error("call %s: synthesis failed for %r: %r", self.call_id, seg, exc)
        self.note(BackendFailed("tts", repr(exc)))

    def _on_speaking(self, speaking: bool) -> None:
        decisions = self.turns.on_bot_speaking(speaking, self.clock())
        for d in decisions:
            if isinstance(d, Eager):
                self.recognition.eager(d.on)

    def _on_heard(self, segment: Segment) -> None:
        if self._cut and segment.owner is not self._cut[0]:
            self._cut = None  # the call has moved on: nothing to go back to
        self.history.assistant(segment.text)
        self.recognition.heard(segment.text)
        if isinstance(segment.owner, Reply):
            segment.owner.heard.append(segment.text)

    def _mark(self, name: str) -> None:
        self.playout.on_mark(name)
        reply = self.reply
        if reply and reply.task and reply.task.done() and not self.playout.has_pending:
            self._reply_over(reply)

    def _reply_over(self, reply: Reply) -> None:
        """The reply has been generated and every mark has come back."""
        self.playout.stopped()
        self.playout.first_audio_at = None
        if reply.outcome:
            return
        reply.outcome = "spoken"
        answered = reply.user_text is not None and self.bot.agent in ANSWERING
        if answered and self.outcome == "hung up":
            self.outcome = "question answered"
        write = asyncio.create_task(self._finish_reply(reply, "spoken"))
        self._writes.add(write)
        write.add_done_callback(self._writes.discard)
        if reply.end_call:
            self.end_reason = self.end_reason or "bot ended the call"
            self.ended.set()

    async def _finish_reply(self, reply: Reply, outcome: str) -> None:
        """Write the reply's turn records once, whatever ended it."""
        if reply.recorded:
            return
        reply.recorded = True
        reply.outcome = outcome
        t = reply.timings
        if t.get("speech_end") and t.get("first_audio"):
            t["latency"] = t["first_audio"] - t["speech_end"]
        self.note(TurnEnded(reply.id, reply.user_text, " ".join(reply.heard), outcome, dict(t)))
        if reply.user_text is not None:
            t["outcome"] = outcome
            if reply.retracted:
                t["retracted"] = True  # the caller's words as first heard, replaced later
            await self.s.records.add_turn(self.call_id, "user", reply.user_text, False, t)
        if reply.heard:
            interrupted = outcome == "interrupted"
            await self.s.records.add_turn(
                self.call_id, "assistant", " ".join(reply.heard), interrupted, {}
            )


def _line_closed(exc: BaseException) -> bool:
    """Whether every error in ``exc`` (a task group's too) is the transport having closed."""
    if isinstance(exc, BaseExceptionGroup):
        return exc.split(ConnectionError)[1] is None
    return isinstance(exc, ConnectionError)
