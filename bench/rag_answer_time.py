"""The knowledge bot's own time per answer: a question in, the first sentence out (offline).

Runs the sample bot's questions through fresh agents as calls do (one agent per call, the
process's knowledge base, embedder and sentence cache shared) and prints, per call, the time to
the first answer sentence. The first call of a process pays the document sync and the cold
sentence embeddings; later calls only embed the question.

    .venv/bin/python bench/rag_answer_time.py [--calls 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voxline.agents.base import Turn  # noqa: E402
from voxline.agents.rag import build_rag_agent  # noqa: E402
from voxline.bot import load_bot  # noqa: E402
from voxline.config import load_settings  # noqa: E402
from voxline.events import TextDelta  # noqa: E402
from voxline.history import History  # noqa: E402
from voxline.tools import ToolBox, ToolContext  # noqa: E402

QUESTIONS = [
    "Do you have parking for trucks?",
    "When do you close on weekdays?",
    "And on Sundays?",
    "How much does the Kestrel cost?",
    "And the Heron?",
    "How long is the frame warranty?",
    "Can I pay in monthly instalments?",
]


class NoOrders:
    async def add_order(self, *args: object) -> int:
        return 0


async def one_call(settings, bot) -> list[float]:
    agent = build_rag_agent(settings, bot)
    history = History()
    times = []
    for q in QUESTIONS:
        history.user(q)
        start = time.perf_counter()
        first = None
        said = []
        async for e in agent.reply(Turn(history, ToolBox(), ToolContext("bench", NoOrders()))):
            if isinstance(e, TextDelta):
                first = first or time.perf_counter() - start
                said.append(e.text)
        history.assistant("".join(said))
        times.append(first or 0.0)
    return times


async def main(calls: int) -> None:
    bot = load_bot(ROOT / "bots" / "rag")
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(env={}, data_dir=tmp)
        for i in range(calls):
            ms = [1000 * t for t in await one_call(settings, bot)]
            print(
                f"call {i + 1}: first answer {ms[0]:.0f} ms, then median "
                f"{statistics.median(ms[1:]):.0f} ms, max {max(ms[1:]):.0f} ms"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3)
    asyncio.run(main(parser.parse_args().calls))
