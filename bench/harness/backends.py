"""The scripted model servers, in a process of their own so the server's CPU is measured alone.

    python -m bench.harness.backends '{"asr_stop_ms": 320, ...}'

Starts the Riva-protocol test server (ASR endpointing on the audio it receives, TTS) and the
OpenAI-compatible test server with the benchmark's delays, prints one JSON line with their
addresses, and serves until its stdin closes.
"""

from __future__ import annotations

import asyncio
import json
import sys

from bench.harness.scenario import REPLY, TURN_LINE, Delays, new_event_loop
from tests.fakes.openai_server import FakeOpenAI, paced
from tests.fakes.riva_server import FakeRivaServer


async def serve(delays: Delays) -> None:
    riva = FakeRivaServer(
        lambda n: TURN_LINE,
        final_delay_s=delays.asr_final_ms / 1000,
        tts_first_chunk_delay_s=delays.tts_first_chunk_s,
        record_audio=False,
    )
    reply = paced(REPLY, delays.llm_first_token_s, delays.llm_tokens_per_s)
    llm = FakeOpenAI(lambda body: reply)
    await riva.start()
    await asyncio.to_thread(llm.start)
    try:
        print(json.dumps({"riva": riva.target, "llm": llm.base_url}), flush=True)
        loop = asyncio.get_running_loop()
        stdin = loop.run_in_executor(None, sys.stdin.read)
        while not stdin.done():
            await asyncio.wait({stdin}, timeout=10)
            # Records kept for tests' assertions; over a long run they would only grow.
            llm.requests.clear()
            riva.asr_streams.clear()
            riva.tts_calls.clear()
    finally:
        await asyncio.to_thread(llm.stop)
        await riva.stop()


def main() -> None:
    delays = Delays(**json.loads(sys.argv[1])) if len(sys.argv) > 1 else Delays()
    with asyncio.Runner(loop_factory=new_event_loop()) as runner:
        runner.run(serve(delays))


if __name__ == "__main__":
    main()
