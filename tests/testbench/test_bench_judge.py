"""The judge on timelines built tick by tick: latency, cut-offs, heard-stop, backchannel stops,
orders, hang-up. The caller's ear is a lookup from the audio it is given to words."""

from voxline.testbench.caller_script import CallLog, StepLog
from voxline.testbench.far_end import FRAME, Timeline
from voxline.testbench.judge import Judge, audio_run_end, live_pizzas, same_orders
from voxline.testbench.report import totals
from voxline.testbench.scenario import parse_scenario, read_yaml


def timeline(heard: str, clears=(), closed=None, unplayed=0) -> Timeline:
    """``heard``: one character a tick, ``#`` bot audio heard, ``.`` none."""
    tl = Timeline()
    for i, ch in enumerate(heard):
        tl.heard.append(FRAME if ch == "#" else 0)
        tl.bot_track += (bytes([i % 250 + 1, 0]) if ch == "#" else b"\0\0") * FRAME
        tl.caller_voiced.append(0)
    tl.clears = list(clears)
    tl.closed_by_server = closed
    tl.unplayed_at_close = unplayed
    return tl


class Ear:
    """Hears the words given for the tick where the audio starts (the track encodes it)."""

    def __init__(self, words: dict[int, str]):
        self.words = words

    async def __call__(self, pcm: bytes) -> str:
        if not any(pcm):
            return ""
        first = next(i for i in range(0, len(pcm), 2 * FRAME) if pcm[i])
        return self.words.get(pcm[first] - 1, "")


def scen(text: str):
    return parse_scenario(read_yaml(text), "t")


async def judge(sc, tl, steps, ear=None, records=None):
    log = CallLog(sc, "CA1", tl, steps)
    return await Judge(ear or Ear({})).judge(log, records if records is not None else {})


async def test_latency_and_a_reply_that_keeps_its_word():
    sc = scen("voice: slt\nsteps: [{say: hi, expect: {said: [large], reply_within_ms: 300}}]")
    tl = timeline("#####" + "." * 20 + "..........#####" + "....")
    step = StepLog(0, "say", "hi", "slt", start=6, end=25, voiced=[(6, 25)])
    res = await judge(sc, tl, [step], Ear({0: "welcome", 35: "a large one"}))
    (s,) = res.steps
    assert s.latency_ms == 200 and s.cut_off_ms is None and s.heard == "a large one"
    assert res.greeting == "welcome"
    assert res.passed, [c.__dict__ for c in res.failures]


async def test_a_bot_starting_in_the_callers_pause_is_a_cut_off():
    sc = scen("voice: slt\nsteps: [{say: 'a [pause 600 ms] b'}]")
    tl = timeline("." * 20 + "####" + "." * 10)
    step = StepLog(0, "say", "a b", "slt", start=0, end=30, voiced=[(0, 10), (25, 30)])
    res = await judge(sc, tl, [step])
    assert res.steps[0].cut_off_ms == 400 and res.steps[0].pauses == 1
    (bad,) = res.failures
    assert bad.name == "step 1: no cut-off" and "in a pause" in bad.detail
    assert totals([res])["cut_offs_in_pauses"] == {"n": 1, "of": 1, "rate": 1.0}


async def test_no_reply_on_a_line_with_a_pause_means_none_inside_it():
    """The bot answers the whole line after it ends ("How much does delivery cost for [pause]
    orders under five hundred euros?" expects the price said); only a word inside the line,
    its pause included, breaks ``no_reply``. Without a pause it means no reply at all."""
    sc = scen("voice: slt\nsteps: [{say: 'a [pause 600 ms] b', expect: {no_reply: true}}]")
    step = StepLog(0, "say", "a b", "slt", start=0, end=30, voiced=[(0, 10), (25, 30)])
    res = await judge(sc, timeline("." * 35 + "####" + "...."), [step])
    assert res.passed, [c.__dict__ for c in res.failures]
    res = await judge(sc, timeline("." * 15 + "####" + "." * 20), [step])
    assert {c.name for c in res.failures} == {
        "step 1: no cut-off",
        "step 1: no reply inside its pauses",
    }
    sc = scen("voice: slt\nsteps: [{say: 'a b', expect: {no_reply: true}}]")
    step = StepLog(0, "say", "a b", "slt", start=0, end=30, voiced=[(0, 30)])
    res = await judge(sc, timeline("." * 35 + "####" + "...."), [step])
    assert [c.name for c in res.failures] == ["step 1: no reply"]


async def test_heard_stop_of_an_interruption():
    sc = scen(
        "voice: slt\nsteps: [{say: x}, {say: no, barge_in_ms: 100, expect: {stops_within_ms: 300}}]"
    )
    # the bot talks from tick 10; the caller barges in at 20; the audio stops at 40
    tl = timeline("." * 10 + "#" * 30 + "." * 30 + "###" + "....")
    steps = [
        StepLog(0, "say", "x", "slt", start=0, end=8, voiced=[(0, 8)]),
        StepLog(1, "say", "no", "slt", start=20, end=30, voiced=[(20, 30)], over_bot=True),
    ]
    res = await judge(sc, tl, steps)
    barge = res.steps[1]
    assert barge.heard_stop_ms == 400 and barge.latency_ms == 800
    assert [c.name for c in res.failures] == ["step 2: stops within 300 ms of the interruption"]


async def test_backchannel_stop_and_resume_is_a_false_stop_and_talking_on_is_not():
    sc = scen("voice: slt\nsteps: [{say: x}, {backchannel: mm-hmm}]")
    steps = [
        StepLog(0, "say", "x", "slt", start=0, end=5, voiced=[(0, 5)]),
        StepLog(
            1, "backchannel", "mm-hmm", "slt", start=30, end=35, voiced=[(30, 35)], over_bot=True
        ),
    ]
    stutter = timeline("." * 10 + "#" * 21 + "." * 20 + "#" * 20 + "." * 50)
    res = await judge(sc, stutter, steps)
    assert res.steps[1].false_stop and not res.passed
    cleared = timeline("." * 10 + "#" * 80 + "." * 50, clears=[32])
    res = await judge(sc, cleared, steps)
    assert res.steps[1].false_stop and "clear 40 ms" in res.failures[0].detail
    smooth = timeline("." * 10 + "#" * 80 + "." * 50)
    res = await judge(sc, smooth, steps)
    assert res.steps[1].false_stop is False and res.passed
    assert totals([res])["false_stops_on_backchannels"]["n"] == 0


async def test_orders_hang_up_and_last_words():
    sc = scen(
        "voice: slt\nsteps: [{say: x}]\n"
        "expect: {order: {size: large, toppings: [ham, bacon]}, hangs_up: true, goodbye: true}"
    )
    tl = timeline("." * 10 + "####" + "...", closed=17, unplayed=3 * FRAME)
    step = StepLog(0, "say", "x", "slt", start=0, end=5, voiced=[(0, 5)])
    records = {
        "orders": [
            {
                "tool": "process_pizza_order",
                "details": {"size": "small", "toppings": []},
                "status": "cancelled",
            },
            {
                "tool": "process_pizza_order",
                "details": {"size": "large", "toppings": ["bacon", "ham"], "crust": "thin"},
            },
        ],
        "turns": [
            {
                "role": "user",
                "text": "ex",
                "timings": {"retracted": True, "final": 9.0, "speech_end": 1.0},
            },  # a first pass
            {"role": "user", "text": "x", "timings": {"speech_end": 10.0, "final": 10.95}},
            {"role": "user", "text": "y", "timings": {"speech_end": 12.0, "resumed": True}},
        ],  # "y": no final yet; its words meant nothing, so the bot went on
    }
    res = await judge(sc, tl, [step], Ear({10: "Goodbye!"}), records)
    assert res.server_heard == ["x", "y"] and res.wer == (1, 1)  # the turns that stood
    assert res.final_ms == [950]  # speech end -> final, of the turn that stood and had one
    assert totals([res])["final_after_speech_end_ms"] == {"p50": 950, "p95": 950, "n": 1}
    assert res.gone_on == 1 and totals([res])["gone_on_after_doubtful_stops"] == 1
    names = {c.name: c.passed for c in res.checks}
    assert names["order"] and names["hangs up"] and names["said goodbye"]
    assert names["last words heard"] is False  # 60 ms were still buffered when it hung up


def test_order_comparison():
    pizzas = live_pizzas(
        [
            {"details": {"size": "large", "more_pizzas": [{"size": "small"}]}},
            {"details": {"size": "medium"}, "status": "cancelled"},
        ]
    )
    assert same_orders([{"size": "small"}, {"size": "large"}], pizzas)
    assert not same_orders([{"size": "small"}], pizzas)  # a second pizza nobody asked for
    assert not same_orders([{"size": "small"}, {"size": "small"}], pizzas)


def test_audio_run_end_bridges_short_gaps():
    heard = bytearray(b"\1" * 5 + b"\0" * 5 + b"\1" * 5 + b"\0" * 20)
    assert audio_run_end(heard, 0) == 15
