"""Judging a call: what the caller heard and what the server recorded, against the scenario.

What the bot said is judged on what came out of the caller's playback buffer, transcribed by
the caller's ear; orders and tool calls on the server's records. So a read-back the caller
could not understand and a wrong order are different failures. Timing is judged tick by tick
on the far end's timeline: reply latency from the end of the caller's speech to the first
heard bot audio, cut-offs (the bot starting while the caller is still inside a line), how fast
the bot was heard to stop when interrupted, and whether it talked on through a backchannel.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from voxline.testbench.caller_script import CallLog, StepLog
from voxline.testbench.far_end import FRAME, TICK_S
from voxline.testbench.scenario import DEFAULT_STOP_MS, Expect
from voxline.testbench.words import normalize, phrase_in, repeated_run, word_errors

MS = int(TICK_S * 1000)
STOP_GAP = 10  # ticks of silence that end the bot's audio run (200 ms)
STUTTER_GAP = 12  # ticks: a gap this long inside a reply that goes on is a stop and resume
LOOKBACK = 15  # ticks before a line during which bot audio means the bot was already talking
BACKCHANNEL_WINDOW = 150  # ticks after a backchannel in which a stop counts (3 s)

Hear = Callable[[bytes], Awaitable[str]]


@dataclass
class Check:
    name: str
    kind: str  # task | turn | latency | call
    passed: bool | None  # None: could not be judged (the step did not happen as written)
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "passed": self.passed, "detail": self.detail}


@dataclass
class StepResult:
    step: int
    kind: str
    voice: str
    said: str  # what the caller said
    heard: str = ""  # what the caller heard of the bot in answer (or while it talked over it)
    latency_ms: int | None = None
    cut_off_ms: int | None = None  # the bot started this far into the caller's line
    pauses: int = 0
    heard_stop_ms: int | None = None  # barge-in: onset -> the bot's audio stopped
    false_stop: bool | None = None  # backchannel: the bot stopped or repeated itself
    skipped: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "", 0) or k == "step"}


@dataclass
class ScenarioResult:
    name: str
    file: str
    voice: str
    checks: list[Check] = field(default_factory=list)
    steps: list[StepResult] = field(default_factory=list)
    greeting: str = ""
    server_heard: list[str] = field(default_factory=list)  # the caller's turns as recorded
    orders: list[dict[str, Any]] = field(default_factory=list)
    wer: tuple[int, int] = (0, 0)  # the server's recognition of the caller: edits, words
    final_ms: list[float] = field(default_factory=list)  # speech end -> final, per turn that stood
    gone_on: int = 0  # turns after which the bot went on with what a doubtful stop cut
    duration_s: float = 0.0
    error: str = ""

    @property
    def passed(self) -> bool:
        return not self.error and all(c.passed is not False for c in self.checks)

    @property
    def task_ok(self) -> bool:
        return not self.error and all(
            c.passed is not False for c in self.checks if c.kind == "task"
        )

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.passed is False]

    def has(self, name: str) -> bool:
        return any(c.name == name for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "file": self.file,
            "voice": self.voice,
            "passed": self.passed,
            "task_ok": self.task_ok,
            "error": self.error,
            "duration_s": round(self.duration_s, 1),
            "greeting": self.greeting,
            "steps": [s.as_dict() for s in self.steps],
            "checks": [c.as_dict() for c in self.checks],
            "server_heard": self.server_heard,
            "orders": self.orders,
            "wer": list(self.wer),
        }


# --- the line, tick by tick ---------------------------------------------------------------


def audio_run_end(heard: bytearray, start: int) -> int:
    """Where the bot's audio that is playing at ``start`` stops (a gap of STOP_GAP ticks)."""
    t, last = start, start
    while t < len(heard) and t - last <= STOP_GAP:
        if heard[t]:
            last = t + 1
        t += 1
    return last


def cut_off_at(heard: bytearray, entry: StepLog) -> int | None:
    """The tick the bot started talking while the caller was still inside this line."""
    start, end = entry.speech_start, entry.speech_end
    if start is None or end is None:
        return None
    if any(heard[max(0, start - LOOKBACK) : start + 1]):
        return None  # the bot was already talking: that is the caller's barge-in, not a cut-off
    return next((t for t in range(start + 1, min(end, len(heard))) if heard[t]), None)


def stutter(heard: bytearray, clears: list[int], onset: int, end: int) -> str:
    """Why the bot did not simply talk on over a backchannel at ``onset`` (or "")."""
    window_end = min(end, onset + BACKCHANNEL_WINDOW)
    if cleared := [c for c in clears if onset <= c < window_end]:
        return f"clear {(cleared[0] - onset) * MS} ms after the backchannel began"
    gap = 0
    for t in range(onset, min(end, len(heard))):
        if heard[t]:
            if gap >= STUTTER_GAP and t - gap < window_end:
                return f"{gap * MS} ms of silence {(t - gap - onset) * MS} ms after it began"
            gap = 0
        elif any(heard[onset:t]):
            gap += 1
    return ""


# --- orders ------------------------------------------------------------------------------


def live_pizzas(orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The final contents of the call's orders: cancelled ones out, further pizzas (the
    tool's ``more_pizzas``) beside the first."""
    out = []
    for order in orders:
        if str(order.get("status") or "").lower() in ("cancelled", "canceled", "replaced"):
            continue
        details = dict(order.get("details") or {})
        more = details.pop("more_pizzas", None) or []
        out += [i for i in (details, *more) if isinstance(i, dict) and i]
    return out


def _norm(value: Any) -> Any:
    if isinstance(value, list):
        return sorted(str(v).lower() for v in value)
    return str(value).lower()


def matches(expected: dict[str, Any], actual: dict[str, Any]) -> bool:
    return all(
        _norm(actual.get(k, [] if isinstance(v, list) else None)) == _norm(v)
        for k, v in expected.items()
    )


def same_orders(expected: list[dict[str, Any]], actual: list[dict[str, Any]]) -> bool:
    left = list(actual)
    for want in expected:
        found = next((a for a in left if matches(want, a)), None)
        if found is None:
            return False
        left.remove(found)
    return not left


def _spoken(pizzas: list[dict[str, Any]]) -> str:
    return "; ".join(", ".join(f"{k}={v}" for k, v in p.items() if k != "price") for p in pizzas)


# --- the judge ---------------------------------------------------------------------------


class Judge:
    def __init__(self, hear: Hear) -> None:
        self.hear = hear

    async def judge(self, calllog: CallLog, records: dict[str, Any] | None) -> ScenarioResult:
        sc = calllog.scenario
        tl = calllog.timeline
        res = ScenarioResult(sc.name, str(sc.path or ""), sc.voice)
        res.duration_s = tl.ticks * TICK_S
        if calllog.error:
            res.error = calllog.error
            res.checks.append(Check("call", "call", False, calllog.error))
            return res
        logs = calllog.steps
        starts = [e.start for e in logs if e.start is not None]
        res.greeting = await self.hear(tl.bot_audio(0, starts[0] if starts else tl.ticks))
        heard_by_step: dict[int, list[str]] = {}
        step_checks: list[Check] = []
        for k, entry in enumerate(logs):
            nxt = next((e.start for e in logs[k + 1 :] if e.start is not None), tl.ticks)
            result = await self._step(calllog, entry, nxt, step_checks)
            res.steps.append(result)
            heard_by_step.setdefault(entry.step, []).append(result.heard)
            if entry.kind == "backchannel" and k:  # the reply it was said over goes on
                heard_by_step.setdefault(logs[k - 1].step, []).append(result.heard)
        res.checks += step_checks
        for i, step in enumerate(sc.steps):
            heard = " ".join(heard_by_step.get(i, []))
            self._words(res, step.expect, heard, f"step {i + 1}")
        everything = " ".join([res.greeting, *(s.heard for s in res.steps)])
        self._words(res, sc.expect, everything, "call")
        self._call(res, calllog, records)
        return res

    async def _step(
        self, calllog: CallLog, entry: StepLog, next_start: int, checks: list[Check]
    ) -> StepResult:
        sc = calllog.scenario
        tl = calllog.timeline
        step = sc.steps[entry.step]
        res_step = StepResult(entry.step + 1, entry.kind, entry.voice, entry.text)
        res_step.skipped = entry.skipped
        res_step.pauses = len(entry.pauses)
        if entry.start is None or entry.kind in ("silence", "hangup"):
            if entry.kind == "silence" and entry.start is not None:
                res_step.heard = await self.hear(tl.bot_audio(entry.start, next_start))
            return res_step
        speech_end = entry.speech_end or entry.end or entry.start
        if entry.over_bot and entry.speech_start is not None:
            onset = entry.speech_start
            res_step.heard = await self.hear(tl.bot_audio(onset, next_start))
            if entry.kind == "backchannel":
                why = stutter(tl.heard, tl.clears, onset, next_start)
                why = why or (f"repeated '{r}'" if (r := repeated_run(res_step.heard)) else "")
                res_step.false_stop = bool(why)
                if step.expect.keeps_talking is not False:
                    checks.append(
                        Check(
                            f"step {entry.step + 1}: talks on through '{entry.text}'",
                            "turn",
                            not why,
                            why,
                        )
                    )
                return res_step
            stop = audio_run_end(tl.heard, onset)
            res_step.heard_stop_ms = (stop - onset) * MS
            bound = step.expect.stops_within_ms or DEFAULT_STOP_MS
            checks.append(
                Check(
                    f"step {entry.step + 1}: stops within {bound} ms of the interruption",
                    "turn",
                    res_step.heard_stop_ms <= bound,
                    f"heard to stop after {res_step.heard_stop_ms} ms",
                )
            )
            first = tl.first_heard(max(stop, speech_end), next_start)
            if first is not None:
                res_step.latency_ms = (first - speech_end) * MS
        else:
            cut = cut_off_at(tl.heard, entry) if entry.kind == "say" else None
            if entry.kind == "say":
                if cut is not None and entry.speech_start is not None:
                    res_step.cut_off_ms = (cut - entry.speech_start) * MS
                in_pause = cut is not None and any(a <= cut < b for a, b in entry.pauses)
                checks.append(
                    Check(
                        f"step {entry.step + 1}: no cut-off",
                        "turn",
                        cut is None,
                        f"the bot started {'in a pause' if in_pause else 'mid-line'}, "
                        f"{res_step.cut_off_ms} ms into '{entry.text}'"
                        if cut is not None
                        else "",
                    )
                )
            first = tl.first_heard(speech_end, next_start)
            res_step.heard = await self.hear(
                tl.bot_audio(min(cut or speech_end, speech_end), next_start)
            )
            if first is not None:
                res_step.latency_ms = (first - speech_end) * MS
            first = cut if cut is not None else first  # a reply that cut in is still a reply
        expect = step.expect
        if expect.no_reply and entry.pauses:
            # "Nothing from the bot inside the caller's pause": the line is the caller's to
            # the end, and then the bot answers it (the same line may expect words said).
            inside = tl.first_heard(entry.speech_start or 0, entry.speech_end or 0)
            checks.append(
                Check(
                    f"step {entry.step + 1}: no reply inside its pauses",
                    "turn",
                    inside is None,
                    f"the bot spoke {(inside - (entry.speech_start or 0)) * MS} ms into the line"
                    if inside is not None
                    else "",
                )
            )
        elif expect.no_reply:
            checks.append(
                Check(f"step {entry.step + 1}: no reply", "turn", first is None, res_step.heard)
            )
        elif entry.kind in ("say", "dtmf") and not entry.skipped:
            checks.append(
                Check(
                    f"step {entry.step + 1}: replied",
                    "turn",
                    first is not None,
                    "" if first is not None else "the bot said nothing",
                )
            )
            within = expect.reply_within_ms or sc.expect.reply_within_ms
            if within and first is not None:
                checks.append(
                    Check(
                        f"step {entry.step + 1}: reply within {within} ms",
                        "latency",
                        res_step.latency_ms is not None and res_step.latency_ms <= within,
                        f"{res_step.latency_ms} ms",
                    )
                )
        return res_step

    def _words(self, res: ScenarioResult, expect: Expect, heard: str, where: str) -> None:
        words = normalize(heard)
        for phrase in expect.said:
            res.checks.append(
                Check(
                    f"{where}: said '{phrase}'",
                    "task",
                    phrase_in(phrase, words),
                    "" if phrase_in(phrase, words) else f"heard: {heard!r}",
                )
            )
        for phrase in expect.not_said:
            bad = phrase_in(phrase, words)
            res.checks.append(
                Check(
                    f"{where}: did not say '{phrase}'",
                    "task",
                    not bad,
                    f"heard: {heard!r}" if bad else "",
                )
            )

    def _call(self, res: ScenarioResult, calllog: CallLog, records: dict[str, Any] | None) -> None:
        tl, e = calllog.timeline, calllog.scenario.expect
        orders = (records or {}).get("orders") or []
        res.orders = orders
        turns = (records or {}).get("turns") or []
        stood = [
            t
            for t in turns
            if t.get("role") == "user" and not (t.get("timings") or {}).get("retracted")
        ]  # an early reply's words a later transcript replaced are not the caller's turn
        res.server_heard = [t["text"] for t in stood]
        res.gone_on = sum(bool((t.get("timings") or {}).get("resumed")) for t in stood)
        res.final_ms = [
            round(1000 * (t["final"] - t["speech_end"]))
            for t in (u.get("timings") or {} for u in stood)
            if t.get("final") and t.get("speech_end")
        ]  # the recognizer's endpointing delay included
        said = " ".join(s.said for s in res.steps if s.kind == "say" and not s.skipped)
        res.wer = word_errors(said, " ".join(res.server_heard))
        pizzas = live_pizzas(orders)
        if records is None and (e.order or e.orders or e.no_order or e.tool):
            res.checks.append(Check("records", "task", False, "the server's records are missing"))
        elif e.no_order:
            res.checks.append(Check("no order", "task", not pizzas, _spoken(pizzas)))
        elif e.order is not None or e.orders is not None:
            want = [e.order] if e.order is not None else list(e.orders or [])
            ok = same_orders(want, pizzas)
            res.checks.append(
                Check(
                    "order",
                    "task",
                    ok,
                    "" if ok else f"wanted {_spoken(want)}; recorded {_spoken(pizzas) or 'none'}",
                )
            )
        if e.tool:
            args = e.tool.get("args") or {}
            ok = any(
                o.get("tool") == e.tool["name"] and matches(args, o.get("details") or {})
                for o in orders
            )
            res.checks.append(
                Check(
                    f"tool {e.tool['name']}",
                    "task",
                    ok,
                    ""
                    if ok
                    else f"recorded: {[(o.get('tool'), o.get('details')) for o in orders]}",
                )
            )
        if e.hangs_up is not None:
            ok = calllog.server_hung_up == e.hangs_up
            res.checks.append(
                Check(
                    "hangs up" if e.hangs_up else "stays on the line",
                    "task",
                    ok,
                    ""
                    if ok
                    else "the server did not end the call"
                    if e.hangs_up
                    else "the server ended the call",
                )
            )
        if e.goodbye:
            last = next((s.heard for s in reversed(res.steps) if s.heard), res.greeting)
            ok = phrase_in("bye|goodbye|good bye", last)
            res.checks.append(Check("said goodbye", "task", ok, "" if ok else f"last: {last!r}"))
        if calllog.server_hung_up:
            lost = tl.unplayed_at_close
            res.checks.append(
                Check(
                    "last words heard",
                    "call",
                    lost < FRAME,
                    f"{lost * MS // FRAME} ms of the bot's audio never played"
                    if lost >= FRAME
                    else "",
                )
            )
        if skipped := [s for s in calllog.steps if s.skipped == "the call was over"]:
            res.checks.append(
                Check(
                    "every step ran",
                    "call",
                    False,
                    f"the call ended before step {skipped[0].step + 1}",
                )
            )
