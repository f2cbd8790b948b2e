"""``voxline kb add|list|remove|search``: manage the current bot's knowledge base.

Hook: ``add_kb_parser(subparsers)`` adds the ``kb`` command; its handler is
``kb_command(args, settings)`` (also stored as ``handler`` in the parser defaults), which
loads ``settings.bot`` and works on that bot's knowledge base. ``kb_main(argv, settings)``
runs it from a plain argument list.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from voxline.bot import load_bot
from voxline.config import Settings
from voxline.kb.config import KbConfig, open_knowledge_base
from voxline.kb.ingest import SUPPORTED, IngestError


def add_kb_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("kb", help="manage the bot's knowledge base")
    sub = parser.add_subparsers(dest="kb_command", required=True)
    add = sub.add_parser("add", help="ingest files or folders (changed files are replaced)")
    add.add_argument("paths", nargs="+", type=Path)
    sub.add_parser("list", help="list documents")
    remove = sub.add_parser("remove", help="delete documents and their chunks")
    remove.add_argument("names", nargs="+")
    search = sub.add_parser("search", help="show the passages retrieved for a question")
    search.add_argument("query", nargs="+")
    search.add_argument("-k", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=kb_command)
    return parser


def _files(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(sorted(p for p in path.iterdir() if p.suffix.lower() in SUPPORTED))
        else:
            out.append(path)
    return out


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    bot = load_bot(settings.bot)
    kb = open_knowledge_base(KbConfig.for_bot(settings, bot))
    emit = (lambda obj: print(json.dumps(obj))) if args.json else None
    status = 0
    if args.kb_command == "add":
        for path in _files(args.paths):
            try:
                result = await kb.add(path.name, path.read_bytes())
            except (OSError, IngestError) as exc:
                print(f"error: {exc}", file=sys.stderr)
                status = 1
                continue
            if emit:
                emit(result)
            else:
                print(f"{result['name']}: {result['status']} ({result.get('chunks', '?')} chunks)")
    elif args.kb_command == "list":
        docs = await kb.documents()
        for d in docs:
            if emit:
                emit(d.to_dict())
            else:
                chunks = "" if d.chunks is None else f"{d.chunks} chunks"
                print(f"{d.name}\t{d.kind or ''}\t{chunks}")
        if not docs and not emit:
            print("(no documents)")
    elif args.kb_command == "remove":
        for name in args.names:
            if await kb.remove(name):
                print(f"removed {name}")
            else:
                print(f"error: no document named {name!r}", file=sys.stderr)
                status = 1
    else:
        hits = await kb.search(" ".join(args.query), args.k)
        for i, h in enumerate(hits, 1):
            if emit:
                emit(h.to_dict())
            else:
                print(f"{i}. {h.document} #{h.position} score {h.score:.3f}\n   {h.text}\n")
        if not hits and not emit:
            print("(nothing found)")
    return status


def kb_command(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_run(args, settings))


def kb_main(argv: list[str], settings: Settings) -> int:
    parser = argparse.ArgumentParser(prog="voxline")
    add_kb_parser(parser.add_subparsers(dest="command", required=True))
    return kb_command(parser.parse_args(["kb", *argv]), settings)
