"""Scenario files: what parses, and the clear errors for what does not."""

from pathlib import Path

import pytest

from voxline.testbench.scenario import ScenarioError, load_suite, parse_scenario, read_yaml
from voxline.testbench.voices import parse_line, spoken_text

ROOT = Path(__file__).resolve().parents[2]


def scenario(text: str):
    return parse_scenario(read_yaml(text), "t")


def test_a_full_scenario_parses():
    sc = scenario(
        """
voice: slt
hiss_dbfs: -50
steps:
  - say: I'd like a large [pause 600 ms] pepperoni.
    expect: {reply_within_ms: 1500, said: [crust]}
  - say: No, make it a medium.
    barge_in_ms: 800
  - backchannel: mm-hmm
    at_ms: 1200
    voice: rms
  - answer:
      - when: [shall i, is that right]
        say: Yes please.
    until: [anything else]
    otherwise: Yes.
  - dtmf: "1#"
  - silence: 2000
  - hangup: now
expect:
  order: {size: medium, toppings: [pepperoni]}
  hangs_up: false
  not_said: [sorry]
"""
    )
    kinds = [s.kind for s in sc.steps]
    assert kinds == ["say", "say", "backchannel", "answer", "dtmf", "silence", "hangup"]
    assert sc.steps[0].expect.reply_within_ms == 1500 and sc.steps[0].expect.said == ("crust",)
    assert sc.steps[1].barge_in_ms == 800 and sc.steps[1].over_bot
    assert sc.steps[2].voice == "rms" and sc.steps[2].at_ms == 1200
    assert sc.steps[3].rules[0].when == ("shall i", "is that right")
    assert sc.steps[3].otherwise == "Yes." and sc.steps[3].until == ("anything else",)
    assert sc.steps[4].digits == "1#" and sc.steps[5].ms == 2000 and sc.steps[6].now
    assert sc.expect.order == {"size": "medium", "toppings": ["pepperoni"]}
    assert sc.expect.hangs_up is False and sc.hiss_dbfs == -50
    assert ("rms", "mm-hmm") in sc.lines() and ("slt", "Yes.") in sc.lines()


def test_order_none_means_no_order():
    sc = scenario("voice: slt\nsteps: [{say: hi}]\nexpect: {order: none}")
    assert sc.expect.no_order and sc.expect.order is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("voice: nobody\nsteps: [{say: hi}]", "voice must be one of"),
        ("voice: slt\nsteps: []", "steps must be a non-empty list"),
        ("voice: slt\nsteps: [{sya: hi}]", "step 1: a step has exactly one of"),
        ("voice: slt\nsteps: [{say: hi, barge: 3}]", "step 1: unknown key(s) ['barge']"),
        ("voice: slt\nsteps: [{dtmf: '12a'}]", "step 1.dtmf: digits are 0-9"),
        ("voice: slt\nsteps: [{say: '[pause 300 ms]'}]", "step 1.say: expected something to say"),
        ("voice: slt\nsteps: [{backchannel: hm, barge_in_ms: 3}]", "barge_in_ms belongs to a say"),
        ("voice: slt\nsteps: [{answer: [{when: x}]}]", "a rule is {when: [phrases], say: line}"),
        ("voice: slt\nsteps: [{say: hi}]\nexpect: {oder: x}", "unknown expectation ['oder']"),
        ("voice: slt\nsteps: [{say: hi, expect: {order: {}}}]", "unknown expectation ['order']"),
        ("voice: slt\nsteps: [{say: hi, voice: zz}]", "step 1: unknown voice 'zz'"),
        ("voice: slt\nsteps: [{silence: -3}]", "expected a number of milliseconds"),
    ],
)
def test_bad_scenarios_say_what_is_wrong(text, message):
    with pytest.raises(ScenarioError) as err:
        scenario(text)
    assert message in str(err.value)
    assert str(err.value).startswith("t")  # names the scenario


def test_pause_marks_split_a_line():
    assert parse_line("How much is [pause 600 ms] delivery?") == ["How much is", 600, "delivery?"]
    assert spoken_text("a [PAUSE 300ms] b") == "a b"


def test_the_shipped_suites_parse_and_use_many_voices():
    for bot, least in (("pizza", 40), ("rag", 20)):
        suite = load_suite(ROOT / "bots" / bot)
        assert len(suite) >= least, f"{bot}: {len(suite)} scenarios"
        voices = {v for sc in suite for v, _ in sc.lines()}
        assert len(voices) >= 8, f"{bot}: only {sorted(voices)}"
        assert all("joe" not in v for v in voices)  # never the bot's own voice
