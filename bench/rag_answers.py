"""The knowledge bot's offline answers, as text: does each carry the fact asked for?

The sample bot's questions (``bots/rag/questions.yaml``: answerable ones with the fact each
answer must hold, unanswerable ones that must get an honest no) and every line of the
knowledge suite (``bots/rag/tests``) that expects a fact, asked in its scenario's order with
the bot's own earlier answers as the conversation (follow-ups lean on them). The words are
the callers' as written, so this measures the agent alone: retrieval, the sentence chosen and
what it says it does not know; the conversation bench adds recognition and the ear. Printed:
answers holding their fact, honest noes, and every miss with what was said.

    python bench/rag_answers.py [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from voxline.agents.base import Turn  # noqa: E402
from voxline.agents.rag import RagAgent, build_rag_agent  # noqa: E402
from voxline.bot import load_bot  # noqa: E402
from voxline.config import load_settings  # noqa: E402
from voxline.events import TextDelta  # noqa: E402
from voxline.history import History  # noqa: E402
from voxline.testbench.voices import spoken_text  # noqa: E402
from voxline.tools import ToolBox, ToolContext  # noqa: E402

BOT = ROOT / "bots" / "rag"


class NoOrders:
    async def add_order(self, call_id: str, tool: str, details: dict) -> int:
        return 0


async def conversation(agent: RagAgent, questions: list[str]) -> list[str]:
    """The agent's answers to ``questions`` asked one after another in one call."""
    history, said = History(), []
    for q in questions:
        history.user(q)
        turn = Turn(history, ToolBox(), ToolContext("bench", NoOrders()))
        answer = "".join([e.text async for e in agent.reply(turn) if isinstance(e, TextDelta)])
        history.assistant(answer)
        said.append(answer)
    return said


def cases() -> list[tuple[str, list[tuple[str, list[str]]]]]:
    """(where from, [(question, facts expected: regular expressions)]) per conversation."""
    spec = yaml.safe_load((BOT / "questions.yaml").read_text())
    out = [("questions.yaml", [(q["q"], q["expect"])]) for q in spec["answerable"]]
    for path in sorted((BOT / "tests").glob("*.yaml")):
        steps = yaml.safe_load(path.read_text())["steps"]
        said = [(spoken_text(s["say"]), (s.get("expect") or {}).get("said") or []) for s in steps
                if "say" in s]  # fmt: skip
        if any(facts for _, facts in said):
            out.append((path.stem, said))
    return out


async def run() -> dict:
    agent = build_rag_agent(load_settings(env={}, data_dir=tempfile.mkdtemp()), load_bot(BOT))
    no = agent.options.no_answer
    right, asked, misses = 0, 0, []
    for source, lines in cases():
        answers = await conversation(agent, [q for q, _ in lines])
        for (q, facts), a in zip(lines, answers, strict=True):
            if not facts:
                continue
            asked += 1
            if all(re.search(f, a, re.I) for f in facts):
                right += 1
            else:
                misses.append({"from": source, "question": q, "said": a})
    unanswerable = yaml.safe_load((BOT / "questions.yaml").read_text())["unanswerable"]
    honest = 0
    for q in unanswerable:
        (a,) = await conversation(agent, [q])
        if a.startswith(no.split(".")[0]):
            honest += 1
        else:
            misses.append({"from": "unanswerable", "question": q, "said": a})
    return {"date": time.strftime("%Y-%m-%d %H:%M"), "answered": right, "asked": asked,
            "honest_no": honest, "unanswerable": len(unanswerable), "misses": misses}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    doc = asyncio.run(run())
    print(f"answers holding their fact: {doc['answered']}/{doc['asked']}; "
          f"honest noes: {doc['honest_no']}/{doc['unanswerable']}")  # fmt: skip
    for m in doc["misses"]:
        print(f"  {m['from']}: {m['question']!r} -> {m['said'][:160]!r}")
    if args.json:
        args.json.write_text(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
