"""Reply latency in ACE's `final` and `interim` turn-taking modes, measured on real calls.

Each call dials a Voxline server over the Twilio protocol (the simulated caller, real time) with
Riva ASR/TTS served by the Riva-protocol test server (endpointing driven by the audio it gets:
interim after stop_history_eou = 240 ms of silence, final after stop_history = 800 ms) and the
offline form agent. Latency is end of the caller's line -> first bot audio at the caller; the
lines' trailing silence is the same in both modes, so the difference is the saving.

    .venv/bin/python bench/turn_latency.py [--calls 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.fakes: the Riva-protocol test server

from tests.conftest import make_settings, served  # noqa: E402
from tests.fakes.riva_server import FakeRivaServer  # noqa: E402
from voxline.audio import resample  # noqa: E402
from voxline.bot import load_bot  # noqa: E402
from voxline.caller import Line, SimulatedCaller  # noqa: E402
from voxline.services import build_services  # noqa: E402
from voxline.speech.piper import PiperEngine  # noqa: E402

LINES = ["I'd like a large pizza", "pepperoni and mushrooms please"]


async def one_call(mode: str, lines: list[Line], tmp: Path) -> list[float]:
    bot = load_bot(ROOT / "bots" / "pizza")
    bot = replace(bot, turns=replace(bot.turns, mode=mode))
    async with FakeRivaServer([line.text for line in lines]) as riva:
        settings = make_settings(tmp, asr="riva", tts="riva", riva_server=riva.target)
        services = await asyncio.to_thread(build_services, settings, bot)
        async with served(settings, bot, services) as server:
            result = await SimulatedCaller(server.ws_url, lines, idle_s=1.5).run()
    return [t.latency for t in result.turns[1:] if t.latency is not None]


async def main(calls: int) -> dict:
    piper = PiperEngine(threads=1)
    lines = [Line(t, resample(b"".join(piper.render(t)), piper.rate, 8000)) for t in LINES]
    out: dict[str, list[float]] = {"final": [], "interim": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(calls):
            for mode in out:
                out[mode] += await one_call(mode, lines, Path(tmp) / f"{mode}{i}")
    medians = {mode: statistics.median(v) for mode, v in out.items()}
    print(f"{'mode':<8} {'turns':>5} {'median ms':>10} {'min ms':>7} {'max ms':>7}")
    for mode, values in out.items():
        print(
            f"{mode:<8} {len(values):>5} {1000 * medians[mode]:>10.0f} "
            f"{1000 * min(values):>7.0f} {1000 * max(values):>7.0f}"
        )
    saving = medians["final"] - medians["interim"]
    print(f"median saving of interim over final: {1000 * saving:.0f} ms (240/800 ms endpointing)")
    return {"latency_s": out, "median_saving_s": saving}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=4, help="calls per mode")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    figures = asyncio.run(main(args.calls))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
