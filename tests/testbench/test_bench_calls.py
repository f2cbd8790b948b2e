"""The bench on real phone calls: the Twilio protocol over a real WebSocket to the embedded
pizza bot, callers in voices that are not the bot's, and the judge proven able to fail on
bots that are deliberately wrong (pepperoni missing from the menu, barge-in off)."""

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from tests.conftest import PIZZA, make_settings, served
from voxline.bot import load_bot
from voxline.records_sqlite import SqliteRecords
from voxline.services import build_agent_factory
from voxline.testbench.ear import Ear
from voxline.testbench.scenario import parse_scenario, read_yaml
from voxline.testbench.suite import Bench
from voxline.testbench.voices import VoiceRenderer

pytestmark = pytest.mark.e2e

ORDER = """
voice: {voice}
steps:
  - say: Hi, can I get a large pepperoni pizza on thin crust, please?
  - answer:
      - when: [place the order, shall i, is that right, is that correct, confirm]
        say: Yes, that's right.
      - when: [crust]
        say: Thin crust, please.
      - when: [size]
        say: Large.
    until: [anything else, placed]
expect:
  order: {{size: large, toppings: [pepperoni], crust: thin}}
  said: [pepperoni]
"""

INTERRUPT = """
voice: kal
steps:
  - say: What toppings do you have?
  - say: Sorry, I'd like a large ham pizza.
    barge_in_ms: 1200
    expect: {stops_within_ms: 1500}
"""


@pytest.fixture(scope="module")
def ear():
    ear = Ear()
    yield ear
    ear.close()


@pytest.fixture(scope="module")
def bench(ear, tmp_path_factory):
    return Bench(VoiceRenderer(tmp_path_factory.mktemp("voices")), ear)


def scenario(text: str, name: str):
    return parse_scenario(read_yaml(text), name)


def broken_bot(tmp: Path, edit) -> Path:
    """A copy of the pizza bot with ``edit(folder)`` applied."""
    folder = tmp / "pizza"
    shutil.copytree(PIZZA, folder, ignore=shutil.ignore_patterns("tests"))
    edit(folder)
    return folder


async def serve_bot(folder: Path, services, tmp: Path):
    bot = load_bot(folder)
    settings = make_settings(tmp)
    own = replace(
        services,
        bot=bot,
        agent_factory=build_agent_factory(settings, bot),
        records=SqliteRecords(tmp / "records.sqlite3"),
        observers=[],
    )
    return served(settings, bot, own)


async def test_an_order_passes_and_a_menu_without_pepperoni_fails_on_the_order(
    pizza_server, embedded_services, bench, tmp_path
):
    good = scenario(ORDER.format(voice="rms"), "order")
    (result,) = await bench.run([good], pizza_server.ws_url)
    assert result.passed, ([f"{c.name}: {c.detail}" for c in result.failures], result.steps)
    assert result.steps[0].latency_ms is not None and result.greeting

    def no_pepperoni(folder: Path) -> None:
        menu = yaml.safe_load((folder / "menu.yaml").read_text())
        del menu["toppings"]["pepperoni"]
        (folder / "menu.yaml").write_text(yaml.safe_dump(menu))

    folder = broken_bot(tmp_path, no_pepperoni)
    async with await serve_bot(folder, embedded_services, tmp_path) as server:
        (wrong,) = await bench.run([good], server.ws_url)
    failed = {c.name for c in wrong.failures}
    assert "order" in failed, [f"{c.name}: {c.detail}" for c in wrong.checks]
    assert not wrong.passed and not wrong.task_ok


async def test_an_interruption_is_heard_to_stop_and_with_barge_in_off_it_is_not(
    pizza_server, embedded_services, bench, tmp_path
):
    sc = scenario(INTERRUPT, "interrupt")
    (result,) = await bench.run([sc], pizza_server.ws_url)
    stop = result.steps[1]
    # Ducked at once, stopped when its words are known: ~1 s with whisper on this machine kind
    # (the 500 ms needs faster partials, as Riva's; the shipped suites keep that target).
    assert stop.heard_stop_ms is not None and stop.heard_stop_ms <= 1500, result.as_dict()

    def barge_in_off(folder: Path) -> None:
        spec = yaml.safe_load((folder / "bot.yaml").read_text())
        spec["turns"]["barge_in"] = False
        (folder / "bot.yaml").write_text(yaml.safe_dump(spec))

    folder = broken_bot(tmp_path, barge_in_off)
    async with await serve_bot(folder, embedded_services, tmp_path) as server:
        (deaf,) = await bench.run([sc], server.ws_url)
    failed = [c.name for c in deaf.failures]
    assert "step 2: stops within 1500 ms of the interruption" in failed  # (its words are lost)
    assert deaf.steps[1].heard_stop_ms > 1500


def test_voxline_test_runs_a_suite_and_reports(pizza_server, tmp_path):
    folder = tmp_path / "bot"
    (folder / "tests").mkdir(parents=True)
    (folder / "tests" / "order_rms.yaml").write_text(ORDER.format(voice="slt"))
    (folder / "tests" / "skipped.yaml").write_text(ORDER.format(voice="awb"))
    out = tmp_path / "r.json"
    proc = subprocess.run(
        [sys.executable, "-m", "voxline", "test", str(folder), "--only", "order",
         "--url", pizza_server.ws_url, "--json", str(out), "--voice-cache", str(tmp_path / "c")],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    lines = proc.stdout.strip().splitlines()
    assert lines[-1] in ("1 passed, 0 failed", "0 passed, 1 failed"), proc.stdout + proc.stderr
    assert proc.returncode == (0 if lines[-1].startswith("1") else 1)
    doc = json.loads(out.read_text())
    (one,) = doc["scenarios"]
    assert one["name"] == "order_rms" and one["voice"] == "slt" and one["checks"]
    assert one["steps"][0]["heard"] and doc["totals"]["scenarios"] == 1
    assert "slt" in doc["voices"] and doc["machine"]["cores"]
