"""The ``voxline`` command: serve | call | dial | test | doctor | kb | plugin-server."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from voxline import logs
from voxline.config import Settings, load_settings


def _settings(args: argparse.Namespace) -> Settings:
    from voxline.bot import load_bot

    bot_dir = getattr(args, "bot", None) or load_settings().bot
    bot = load_bot(bot_dir)
    return load_settings(
        bot_backends=bot.backends,
        bot=bot_dir,
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
    )


def cmd_serve(args: argparse.Namespace) -> int:
    from voxline.app import create_app
    from voxline.bot import load_bot
    from voxline.server import run

    settings = _settings(args)
    run(create_app(settings, load_bot(settings.bot)), settings, log_level=args.log_level.lower())
    return 0


def _read_script(path: str) -> list[str]:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def cmd_call(args: argparse.Namespace) -> int:
    from voxline.audio import read_wav, resample, wav_bytes
    from voxline.caller import Line, SimulatedCaller
    from voxline.speech.piper import PiperEngine
    from voxline.speech.whisper import WhisperEngine

    items = list(args.lines) + (_read_script(args.script) if args.script else [])
    if not items and not args.wav:
        items = ["I'd like a large pepperoni pizza", "thin crust"]
    piper = PiperEngine(threads=1) if items else None
    lines = []
    for item in items:
        barge = None
        if item.startswith("@"):  # "@1.5 text": start 1.5 s into the bot's reply
            head, _, item = item.partition(" ")
            barge = float(head[1:])
        assert piper is not None
        pcm = resample(b"".join(piper.render(item)), piper.rate, 8000)
        lines.append(Line(item, pcm, barge))
    for path in args.wav:
        pcm, rate = read_wav(Path(path).read_bytes())
        lines.append(Line(f"[{Path(path).name}]", resample(pcm, rate, 8000)))

    # A bot that does not greet (ACE's samples) is spoken to after 3 s of silence.
    caller = SimulatedCaller(args.url, lines, idle_s=args.idle, lead_in_s=3.0)
    result = asyncio.run(caller.run())
    whisper = WhisperEngine(workers=1)
    for turn in result.turns:
        if turn.after_line >= 0:
            print(f"caller: {lines[turn.after_line].text}")
        if turn.audio:
            turn.text = whisper.transcribe(bytes(turn.audio), 8000)
            latency = f"  [{1000 * turn.latency:.0f} ms]" if turn.latency is not None else ""
            cut = "  (interrupted)" if turn.cleared else ""
            print(f"bot:    {turn.text}{latency}{cut}")
    out = Path(args.out or f"var/calls/call-{time.strftime('%Y%m%d-%H%M%S')}.wav")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(wav_bytes(result.stereo(), 8000, channels=2))
    print(f"recording: {out} (caller left, bot right); clears: {result.clears}")
    return 0


def cmd_dial(args: argparse.Namespace) -> int:
    """Place an outbound call through Twilio; the bot talks once it is answered."""
    from voxline.bot import load_bot
    from voxline.outbound import Phone
    from voxline.records import open_records
    from voxline.transports.twilio_calls import TwilioCallFailed, calls_from_settings

    settings = _settings(args)
    params = {}
    for item in args.param:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"--param {item!r}: expected name=value")
        params[name] = value

    async def dial() -> str:
        records = open_records(settings)
        try:
            phone = Phone(settings, calls_from_settings(settings))
            return await phone.dial(load_bot(settings.bot), records, args.number, params)
        finally:
            await records.close()

    try:
        print(asyncio.run(dial()))
    except TwilioCallFailed as exc:
        print(f"voxline: {exc}", file=sys.stderr)
        return 1
    return 0


async def _doctor(settings: Settings) -> list[tuple[str, bool, str]]:
    from voxline.bot import load_bot
    from voxline.records import open_records
    from voxline.services import (
        agent_kind,
        build_agent_factory,
        build_recognizer,
        build_synthesizer,
        load_vad,
    )

    rows: list[tuple[str, bool, str]] = []

    async def check(name: str, probe) -> None:
        start = time.perf_counter()
        try:
            detail = await probe()
            rows.append((name, True, detail))
        except Exception as exc:  # the doctor reports every failure, whatever it is
            ms = 1000 * (time.perf_counter() - start)
            rows.append((name, False, f"{type(exc).__name__}: {exc} ({ms:.0f} ms)"))

    bot = load_bot(settings.bot)
    rows.append(("bot", True, f"{settings.bot}: {bot.name}, {len(bot.tools)} tool(s)"))
    pool = ThreadPoolExecutor(settings.threads)

    async def records() -> str:
        store = open_records(settings)
        await store.open()
        await store.close()
        return f"{store!r} open"

    async def asr() -> str:
        return f"{settings.asr}: " + await build_recognizer(settings, pool).check()

    async def tts() -> str:
        return f"{settings.tts}: " + await build_synthesizer(settings, pool).check()

    async def vad() -> str:
        return "silero v6 (onnxruntime)" if load_vad() else "not installed (extra 'vad')"

    async def agent() -> str:
        if bot.agent == "colang":  # an ACE bot folder: its flows, actions and plugins load
            from voxline.ace.colang_host import ColangHost

            return "colang: " + ColangHost(bot, settings, open_records(settings)).describe()
        return f"{agent_kind(settings, bot)}: " + await build_agent_factory(settings, bot)().check()

    for name, probe in (("records", records), ("asr", asr), ("tts", tts), ("vad", vad),
                        ("agent", agent)):  # fmt: skip
        await check(name, probe)
    token = (
        "set: webhook signatures are checked"
        if settings.twilio_auth_token
        else ("unset: /answer accepts unsigned requests (set TWILIO_AUTH_TOKEN in production)")
    )
    rows.append(("twilio", True, f"TWILIO_AUTH_TOKEN {token}"))
    pool.shutdown(wait=False)
    return rows


def cmd_doctor(args: argparse.Namespace) -> int:
    rows = asyncio.run(_doctor(_settings(args)))
    for name, ok, detail in rows:
        print(f"{name:<8} {'ok  ' if ok else 'FAIL'}  {detail}")
    return 0 if all(ok for _, ok, _ in rows) else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voxline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the call server")
    serve.add_argument("--host", help="interface to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8000)")
    serve.add_argument("--bot", help="bot folder (default bots/pizza)")
    serve.add_argument("--log-level", default="INFO")
    serve.add_argument(
        "--log-format", choices=["text", "json"], help="default: VOXLINE_LOG_FORMAT, else text"
    )
    serve.set_defaults(func=cmd_serve)

    call = sub.add_parser("call", help="dial a server over the Twilio protocol and talk")
    call.add_argument("lines", nargs="*", help='what the caller says; "@1.5 text" barges in')
    call.add_argument("--url", default="ws://127.0.0.1:8000/ws")
    call.add_argument("--script", help="a file with one caller line per line")
    call.add_argument("--wav", action="append", default=[], help="play a WAV file as a line")
    call.add_argument("--out", help="where to write the stereo WAV of the conversation")
    call.add_argument("--idle", type=float, default=1.5, help="bot silence that ends its turn")
    call.set_defaults(func=cmd_call)

    dial = sub.add_parser("dial", help="call a phone number through Twilio (outbound)")
    dial.add_argument("number", help="E.164, e.g. +15551234567")
    dial.add_argument("--param", action="append", default=[], help="name=value for the bot")
    dial.add_argument("--bot", help="bot folder (default bots/pizza)")
    dial.set_defaults(func=cmd_dial)

    doctor = sub.add_parser("doctor", help="check the configured backends for real")
    doctor.add_argument("--bot", help="bot folder (default bots/pizza)")
    doctor.set_defaults(func=cmd_doctor)

    from voxline.testbench.suite import add_test_parser

    add_test_parser(sub)

    from voxline.ace.plugin_server import add_plugin_server_parser
    from voxline.kb.cli import add_kb_parser

    for add in (add_kb_parser, add_plugin_server_parser):
        extra = add(sub)
        extra.add_argument("--bot", help="bot folder (default bots/pizza)")
        extra.set_defaults(func=lambda args: args.handler(args, _settings(args)))
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    level = args.log_level if args.command == "serve" else "WARNING"
    logs.configure(level, getattr(args, "log_format", None))
    try:
        sys.exit(args.func(args))
    except (ValueError, OSError) as exc:
        print(f"voxline: {exc}", file=sys.stderr)
        sys.exit(2)
