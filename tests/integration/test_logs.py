"""Structured logs: the real log output of a phone call as JSON lines with its call and turn
ids, and secrets masked in whatever is logged."""

import asyncio
import io
import json
import logging

import pytest

from tests.conftest import make_settings, serve_in_thread
from tests.fakes.riva_server import FakeRivaServer
from voxline import logs
from voxline.app import create_app
from voxline.caller import Line, SimulatedCaller
from voxline.services import build_services

SAID = ["I'd like a large pepperoni pizza", "thin crust", "yes please"]


class Captured:
    """JSON log lines written by a real handler to a buffer, INFO and up from voxline."""

    def __init__(self, fmt: str = "json") -> None:
        self.buffer = io.StringIO()
        self.handler = logs.log_handler(fmt, self.buffer)
        self.logger = logging.getLogger("voxline")

    def __enter__(self) -> "Captured":
        self.level = self.logger.level
        self.logger.setLevel(logging.INFO)
        self.logger.addHandler(self.handler)
        return self

    def __exit__(self, *exc: object) -> None:
        self.logger.removeHandler(self.handler)
        self.logger.setLevel(self.level)

    @property
    def text(self) -> str:
        return self.buffer.getvalue()

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.text.splitlines()]


@pytest.mark.e2e
async def test_a_calls_log_lines_are_json_with_its_call_and_turn_ids(
    pizza_bot, speak, tmp_path, postgres_url
):
    async with FakeRivaServer(SAID) as riva:
        settings = make_settings(
            tmp_path, asr="riva", tts="riva", riva_server=riva.target, agent="form",
            database_url=postgres_url, llm_api_key="sk-unused-but-secret-42",
        )  # fmt: skip
        services = await asyncio.to_thread(build_services, settings, pizza_bot)
        app = create_app(settings, pizza_bot, services)  # registers the settings' secrets
        servers = serve_in_thread(app, settings)
        host, loop = await asyncio.to_thread(next, servers)
        try:
            with Captured() as captured:
                lines = [Line(s, speak(s)) for s in SAID]
                result = await SimulatedCaller(f"ws://{host}/ws", lines, idle_s=2.0).run()
                for _ in range(100):  # until the server has finished the call
                    if ": ended (" in captured.text:
                        break
                    await asyncio.sleep(0.1)
                logging.getLogger("voxline.test").warning(
                    "connecting to %s with key %s", postgres_url, settings.llm_api_key
                )
            orders = asyncio.run_coroutine_threadsafe(
                services.records.orders(result.call_sid), loop
            ).result(10)
            asyncio.run_coroutine_threadsafe(services.records.close(), loop).result(10)
        finally:
            await asyncio.to_thread(next, servers, None)

    assert [o["details"]["crust"] for o in orders] == ["thin"]  # the records are in PostgreSQL
    records = captured.lines()  # every line parses as one JSON object
    assert all({"ts", "level", "logger", "message"} <= set(r) for r in records)
    call_lines = [r for r in records if r["logger"] in ("voxline.call", "voxline.twilio")]
    assert len(call_lines) >= 4
    assert {r.get("call_id") for r in call_lines} == {result.call_sid}
    started = next(r for r in call_lines if "started" in r["message"])
    assert "turn_id" not in started  # the call's own lines have no turn
    tool = next(r for r in call_lines if "tool process_pizza_order" in r["message"])
    assert tool["turn_id"] == 4  # the greeting is 1, the caller's turns 2-4: the yes places it
    masked = records[-1]["message"]
    assert "sk-unused-but-secret-42" not in captured.text and "with key ***" in masked
    password = postgres_url.split(":")[2].split("@")[0]
    assert password not in captured.text and ":***@127.0.0.1" in masked


def test_a_text_line_keeps_the_classic_format_and_masks_urls():
    with Captured("text") as captured:
        logging.getLogger("voxline.x").warning("db at postgresql://u:pw-123456@h/db is down")
    assert captured.text.rstrip().endswith(
        "WARNING voxline.x: db at postgresql://u:***@h/db is down"
    )


def test_an_exception_is_one_json_line_with_its_traceback_masked():
    logs.hide("tok-abcdef-987")
    with Captured() as captured:
        try:
            raise RuntimeError("auth failed for tok-abcdef-987")
        except RuntimeError:
            logging.getLogger("voxline.x").exception("backend failed")
    (line,) = captured.lines()
    assert line["level"] == "ERROR" and line["message"] == "backend failed"
    assert "RuntimeError: auth failed for ***" in line["exc"]


def test_an_unknown_log_format_is_refused():
    with pytest.raises(ValueError, match="text or json"):
        logs.log_handler("xml")
