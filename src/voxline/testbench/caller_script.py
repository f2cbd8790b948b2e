"""Plays one scenario as a phone call: the caller's steps on a far end, logged tick by tick.

The caller behaves like a person on the phone: it waits for the bot's turn to end (the bot has
spoken and then been quiet for ``quiet_ms``, or said nothing for ``patience_ms``) before it
talks, except where the scenario has it talk over the bot. Every step is logged with the ticks
of its speech, so the judge can tell when the bot answered, cut in, or stopped.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from voxline.testbench.far_end import TICK_S, FarEnd, Timeline
from voxline.testbench.scenario import Rule, Scenario, Step
from voxline.testbench.voices import Rendered, spoken_text
from voxline.testbench.wants import answer_from_order
from voxline.testbench.words import normalize, phrase_at, phrase_in

log = logging.getLogger("voxline.testbench")
MAX_TURN_S = 90.0  # a bot turn that never ends is cut short, and the call goes on
HANGUP_WAIT_S = 8.0  # how long the caller waits for the server to end the call when expected
DTMF_GAP_S = 0.15

Render = Callable[[str, str], Rendered]  # (voice, text) -> the line on the phone
Hear = Callable[[bytes], Awaitable[str]]  # the bot's audio -> what the caller understood


def ticks(ms: float) -> int:
    return round(ms / 1000 / TICK_S)


@dataclass
class StepLog:
    """One thing the caller did; ``step`` is its index in the scenario (an ``answer`` step
    logs one entry per line it said)."""

    step: int
    kind: str
    text: str = ""
    voice: str = ""
    start: int | None = None  # tick of its first frame
    end: int | None = None  # tick after its last frame
    voiced: list[tuple[int, int]] = field(default_factory=list)  # spoken parts, ticks
    over_bot: bool = False
    skipped: str = ""  # why it did not happen as written
    rule: str = ""  # answer: the rule that chose the line
    heard_before: str = ""  # answer: what the caller understood of the bot's last reply

    @property
    def speech_start(self) -> int | None:
        return self.voiced[0][0] if self.voiced else self.start

    @property
    def speech_end(self) -> int | None:
        return self.voiced[-1][1] if self.voiced else self.end

    @property
    def pauses(self) -> list[tuple[int, int]]:
        return [(a[1], b[0]) for a, b in zip(self.voiced, self.voiced[1:], strict=False)]


@dataclass
class CallLog:
    scenario: Scenario
    call_sid: str
    timeline: Timeline
    steps: list[StepLog] = field(default_factory=list)
    error: str = ""

    @property
    def server_hung_up(self) -> bool:
        return self.timeline.closed_by_server is not None


class CallerScript:
    def __init__(self, scenario: Scenario, render: Render, hear: Hear) -> None:
        self.sc = scenario
        self.render = render
        self.hear = hear
        self.quiet = ticks(scenario.quiet_ms)
        self.patience = ticks(scenario.patience_ms)

    async def call(self, url: str, call_sid: str | None = None) -> CallLog:
        far = FarEnd(
            url,
            call_sid=call_sid,
            parameters={"caller": "voxline-test", "scenario": self.sc.name},
            hiss_dbfs=self.sc.hiss_dbfs,
        )
        calllog = CallLog(self.sc, far.call_sid, far.timeline)
        try:
            async with far:
                await self._play(far, calllog)
        except (OSError, TimeoutError) as exc:
            calllog.error = f"could not call {url}: {exc}"
        except Exception as exc:  # a broken call is reported with its scenario, not raised
            log.exception("scenario %s failed", self.sc.name)
            calllog.error = f"{type(exc).__name__}: {exc}"
        return calllog

    # --- the steps --------------------------------------------------------------------------

    async def _play(self, far: FarEnd, calllog: CallLog) -> None:
        since = 0  # the caller's last speech ended here: the bot's turn starts after it
        for i, step in enumerate(self.sc.steps):
            if far.closed:
                calllog.steps.append(StepLog(i, step.kind, skipped="the call was over"))
                continue
            since = await self._step(far, calllog, i, step, since)
        if not far.closed:
            await self._turn_over(far, since)
        if not far.closed and self.sc.expect.hangs_up:
            deadline = far.tick + ticks(1000 * HANGUP_WAIT_S)
            while not far.closed and far.tick < deadline:
                await far.next_tick()

    async def _step(self, far: FarEnd, calllog: CallLog, i: int, step: Step, since: int) -> int:
        voice = step.voice or self.sc.voice
        if step.kind == "silence":
            entry = StepLog(i, "silence", start=far.tick)
            end = far.tick + ticks(step.ms)
            while not far.closed and far.tick < end:
                await far.next_tick()
            entry.end = far.tick
            calllog.steps.append(entry)
            return since
        if step.kind == "hangup":
            if not step.now:
                await self._turn_over(far, since)
            calllog.steps.append(StepLog(i, "hangup", start=far.tick, end=far.tick))
            await far.hangup()
            return since
        if step.kind == "dtmf":
            await self._turn_over(far, since)
            entry = StepLog(i, "dtmf", text=step.digits, start=far.tick)
            for digit in step.digits:
                await far.dtmf(digit)
                for _ in range(ticks(1000 * DTMF_GAP_S)):
                    await far.next_tick()
            entry.end = far.tick
            calllog.steps.append(entry)
            return entry.end
        if step.kind == "answer":
            return await self._answer(far, calllog, i, step, voice, since)
        entry = StepLog(i, step.kind, text=step.text, voice=voice, over_bot=step.over_bot)
        if step.over_bot:
            into = step.at_ms if step.kind == "backchannel" else step.barge_in_ms
            if not await self._into_reply(far, since, ticks(into or 0)):
                entry.skipped = f"the bot's reply was over before {into} ms"
                entry.over_bot = False
        else:
            await self._turn_over(far, since)
        await self._say(far, entry, self.render(voice, step.text))
        calllog.steps.append(entry)
        return entry.end or far.tick

    async def _answer(
        self, far: FarEnd, calllog: CallLog, i: int, step: Step, voice: str, since: int
    ) -> int:
        for _ in range(step.max_turns):
            if far.closed:
                break
            await self._turn_over(far, since)
            heard = await self.hear(far.timeline.bot_audio(since, far.tick))
            line, rule = answer_for(step, normalize(heard), calllog.scenario.expect.order)
            if not line:
                break
            entry = StepLog(i, "say", text=line, voice=voice, heard_before=heard)
            fallback = "otherwise" if step.otherwise else "the wanted order"
            entry.rule = ", ".join(rule.when) if rule else fallback
            await self._say(far, entry, self.render(voice, line))
            calllog.steps.append(entry)
            since = entry.end or far.tick
        return since

    async def _say(self, far: FarEnd, entry: StepLog, line: Rendered) -> None:
        start = await far.say(line.pcm, list(line.voiced))
        entry.start = start
        entry.voiced = [(start + ticks(1000 * a), start + ticks(1000 * b)) for a, b in line.voiced]
        entry.end = far.tick
        entry.text = spoken_text(entry.text)

    # --- waiting for the bot ----------------------------------------------------------------

    async def _turn_over(self, far: FarEnd, since: int) -> None:
        """Wait until the bot has answered and gone quiet, or has said nothing for a while."""
        tl = far.timeline
        limit = far.tick + ticks(1000 * MAX_TURN_S)
        while not far.closed and far.tick < limit:
            now = far.tick
            if tl.last_heard < since:
                if now - since >= self.patience:
                    return
            elif now - tl.last_heard > self.quiet and not far.playing:
                return
            await far.next_tick()

    async def _into_reply(self, far: FarEnd, since: int, into: int) -> bool:
        """Wait until the bot's reply after ``since`` has played ``into`` ticks; False if the
        reply ended (or never came) first."""
        tl = far.timeline
        first = None
        limit = far.tick + self.patience + ticks(1000 * MAX_TURN_S)
        while not far.closed and far.tick < limit:
            now = far.tick
            if first is None and tl.last_heard >= since:
                first = tl.first_heard(since)
            if first is None:
                if now - since >= self.patience:
                    return False
            elif now - tl.last_heard > self.quiet and not far.playing:
                return False
            elif now - first >= into:
                return True
            await far.next_tick()
        return False


def answer_for(
    step: Step, said: list[str], order: Mapping[str, Any] | None = None
) -> tuple[str, Rule | None]:
    """What an answer step says to the bot's reply, and by which rule; "" once it is over
    (the reply says one of ``until``, or nothing matches, there is no ``otherwise``, and the
    reply asks nothing about the wanted ``order``: ``wants.py``)."""
    if step.until and any(phrase_in(p, said) for p in step.until):
        return "", None
    rule = rule_for(step.rules, said)
    if rule is not None:
        return rule.say, rule
    return step.otherwise or answer_from_order(order, said), None


def rule_for(rules: Iterable[Rule], said: list[str]) -> Rule | None:
    """The rule for the bot's last question: a read-back that names the crust and ends "Shall
    I place the order?" is answered yes, not with the crust again. Ties go to the first rule."""
    best, best_at = None, -1
    for rule in rules:
        at = max((phrase_at(p, said) for p in rule.when), default=-1)
        if at > best_at:
            best, best_at = rule, at
    return best
