"""The plugin client agent against our own plugin server and a scripted ACE-style server."""

from pathlib import Path

import pytest

from tests.fakes.ace_plugin_server import ServerThread, ace_plugin_app
from voxline.ace.plugin_server import PluginServerConfig, PluginSpec, create_plugin_app
from voxline.agents.base import Turn
from voxline.agents.plugin import ChunkDecoder, PluginAgent, build_plugin_agent
from voxline.bot import BotError, load_bot
from voxline.config import load_settings
from voxline.events import TextDelta
from voxline.history import History
from voxline.tools import ToolBox, ToolContext

BOT = Path(__file__).resolve().parents[2] / "bots" / "rag"


class NoOrders:
    async def add_order(self, call_id, tool, details):
        return 0


def turn(history: History) -> Turn:
    return Turn(history, ToolBox(), ToolContext("call-9", NoOrders()))


async def collect(agent, history) -> list[str]:
    return [e.text async for e in agent.reply(turn(history)) if isinstance(e, TextDelta)]


async def test_against_our_own_plugin_server(tmp_path):
    settings = load_settings(env={}, data_dir=str(tmp_path))
    app = create_plugin_app(PluginServerConfig((PluginSpec("rag", bot=BOT),)), settings)
    with ServerThread(app) as server:
        agent = PluginAgent(f"{server.url}/rag", user_id="caller")
        history = History()
        history.user("How long is the battery warranty?")
        answer = "".join(await collect(agent, history))
        assert "800 full charge cycles" in answer
        assert "answers" in await agent.check()
        await agent.aclose()


async def test_against_a_scripted_ace_server_sentences_and_history():
    pieces = ["The showroom", " opens at ten on Satur", "days. We close", " at four. Bye"]
    app = ace_plugin_app(lambda body: pieces, delay=0.05)
    with ServerThread(app) as server:
        agent = PluginAgent(f"{server.url}/rag", user_id="u1", session_id="sess")
        history = History()
        history.user("hello")
        history.assistant("Hi, how can I help?")
        history.user("When do you open on Saturday?")
        deltas = await collect(agent, history)
        assert deltas == ["The showroom opens at ten on Saturdays.", " We close at four.", " Bye"]
        sent = app.state.requests[0]
        assert sent["body"]["Query"] == "When do you open on Saturday?"
        assert sent["body"]["UserId"] == "u1"
        assert sent["body"]["Metadata"]["SessionId"] == "sess"
        assert sent["body"]["Metadata"]["StreamId"] == "call-9"
        assert sent["body"]["Metadata"]["ChatHistory"] == [
            {"role": "user", "content": "hello"},
            {"role": "assistant", "content": "Hi, how can I help?"},
        ]
        assert {"request_id", "stream_id", "user_id", "session_id"} <= set(sent["params"])
        await agent.send_event("system.event_pipeline_acquired")
        assert app.state.requests[-1]["body"]["EventType"] == "system.event_pipeline_acquired"
        await agent.aclose()


async def test_server_error_is_reported():
    app = ace_plugin_app(lambda body: [], name="other")
    with ServerThread(app) as server:
        agent = PluginAgent(f"{server.url}/rag")
        history = History()
        history.user("hi")
        with pytest.raises(ConnectionError, match="HTTP 404"):
            await collect(agent, history)
        await agent.aclose()


def test_decoder_handles_glued_split_and_broken_chunks():
    decoder = ChunkDecoder()
    a = '{"Response": {"Text": "One."}}'
    b = '{"Response": {"Text": "Two \\"quoted\\"."}}'
    out = list(decoder.feed(a + b[:10]))
    out += list(decoder.feed(b[10:]))
    broken = '{"Response": {"Text": "Broken", }'
    out += list(decoder.feed(broken + '{"Response": {"IsFinal": true}}'))
    assert [o["Response"].get("Text") for o in out] == ["One.", 'Two "quoted".', "Broken", None]


def test_build_from_bot_yaml_dialog_manager(tmp_path):
    agent = build_plugin_agent(load_settings(env={}), load_bot(BOT))
    assert agent.server == "http://127.0.0.1:9002/rag"
    (tmp_path / "bot.yaml").write_text("name: x\nagent: plugin\n")
    with pytest.raises(BotError, match=r"dialog_manager\.server"):
        build_plugin_agent(load_settings(env={}), load_bot(tmp_path))
