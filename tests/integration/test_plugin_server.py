"""The ACE-compatible plugin server over real HTTP: the streamed schema chunk by chunk, /event,
and 422s for bad requests. It serves the sample RAG bot, as ACE's rag plugin would."""

import json
from pathlib import Path

import httpx
import pytest

from tests.fakes.ace_plugin_server import ServerThread
from voxline.ace.plugin_config import PluginConfigError, PluginSpec, parse_plugin_config
from voxline.ace.plugin_server import PluginServerConfig, create_plugin_app
from voxline.config import load_settings

BOT = Path(__file__).resolve().parents[2] / "bots" / "rag"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    settings = load_settings(env={}, data_dir=str(tmp_path_factory.mktemp("plugin")))
    app = create_plugin_app(PluginServerConfig((PluginSpec("rag", bot=BOT),)), settings)
    with ServerThread(app) as running:
        yield running


async def raw_chunks(url: str, body: dict, params: dict | None = None) -> list[bytes]:
    async with (
        httpx.AsyncClient(timeout=30) as client,
        client.stream("POST", f"{url}/rag/chat", json=body, params=params) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        return [chunk async for chunk in response.aiter_raw() if chunk]


async def test_chat_streams_one_chat_response_per_chunk(server):
    body = {
        "Query": "Who founded the company?",
        "UserId": "user1",
        "Metadata": {"SessionId": "s1", "StreamId": "st1",
                     "ChatHistory": [{"role": "user", "content": "hi"},
                                     {"role": "assistant", "content": "Hello!"}]},
    }  # fmt: skip
    chunks = await raw_chunks(server.url, body, {"request_id": "q-7"})
    values = []
    decoder = json.JSONDecoder()
    for chunk in chunks:  # not SSE framed: each chunk is (at least one) bare JSON object
        text = chunk.decode()
        assert not text.startswith("data:")
        pos = 0
        while pos < len(text):
            value, pos = decoder.raw_decode(text, pos)
            values.append(value)
    assert len(values) >= 2
    for value in values:
        assert set(value) == {"UserId", "QueryId", "Response", "Metadata"}
        assert set(value["Response"]) == {"Text", "CleanedText", "NeedUserResponse", "IsFinal"}
        assert value["UserId"] == "user1" and value["QueryId"] == "q-7"
        assert value["Metadata"] == {"SessionId": "s1", "StreamId": "st1"}
        assert value["Response"]["Text"] == value["Response"]["CleanedText"]
    *body_chunks, last = values
    assert last["Response"] == {"Text": "", "CleanedText": "", "NeedUserResponse": True,
                                "IsFinal": True}  # fmt: skip
    assert all(not v["Response"]["IsFinal"] and v["Response"]["Text"] for v in body_chunks)
    assert "Imelda Varga" in " ".join(v["Response"]["Text"] for v in body_chunks)


async def test_query_params_fill_session_and_empty_query_only_finalises(server):
    chunks = await raw_chunks(
        server.url, {"Query": "", "UserId": "u2"}, {"session_id": "S", "stream_id": "T"}
    )
    value = json.loads(b"".join(chunks))
    assert value["Response"]["IsFinal"] is True and value["Response"]["Text"] == ""
    assert value["Metadata"] == {"SessionId": "S", "StreamId": "T"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"Query": "hi"}, "UserId: Field required"),
        ({"Query": 5, "UserId": "u"}, "Query: Input should be a valid string"),
        ({"Query": "hi", "UserId": "u", "Metadata": {"ChatHistory": "nope"}}, "ChatHistory"),
        ({"Query": "hi", "UserId": "u",
          "Metadata": {"ChatHistory": [{"role": "robot", "content": "x"}]}}, "ChatHistory[0].role"),
        ([1, 2], "JSON object"),
    ],
)  # fmt: skip
async def test_bad_chat_requests_get_422_with_a_clear_message(server, body, message):
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{server.url}/rag/chat", json=body)
        assert response.status_code == 422
        assert message in response.json()["message"]
        headers = {"content-type": "application/json"}
        broken = await client.post(f"{server.url}/rag/chat", content=b"{not", headers=headers)
        assert broken.status_code == 422


async def test_event_endpoint_like_ace(server):
    async with httpx.AsyncClient() as client:
        acquired = await client.post(
            f"{server.url}/rag/event",
            json={"EventType": "system.event_pipeline_acquired", "UserId": "u"},
        )
        other = await client.post(f"{server.url}/rag/event", json={"EventType": "x", "UserId": "u"})
        bad = await client.post(f"{server.url}/rag/event", json={"EventType": "x"})
    assert acquired.status_code == 200
    assert acquired.json()["Response"]["IsFinal"] is True
    assert acquired.json()["Response"]["NeedUserResponse"] is False
    assert other.json()["Response"]["NeedUserResponse"] is True
    assert bad.status_code == 422 and "UserId" in bad.json()["message"]


def test_plugin_config_yaml_style_registration(tmp_path):
    config = parse_plugin_config(
        {"config": {"workers": 1, "timeout": 12},
         "plugins": [{"name": "rag", "bot": "bots/rag"}, {"name": "x", "path": "p.py"}]},
        tmp_path,
    )  # fmt: skip
    assert config.timeout == 12
    assert config.plugins[0].bot == tmp_path / "bots/rag"
    assert config.plugins[1].path == tmp_path / "p.py"
    for bad in ({"plugins": []}, {"plugins": [{"name": "a/b", "bot": "x"}]},
                {"plugins": [{"name": "a", "bot": "x", "path": "y"}]}):  # fmt: skip
        with pytest.raises(PluginConfigError):
            parse_plugin_config(bad)


def test_ace_python_plugin_module_is_mounted(tmp_path):
    plugin = tmp_path / "hello.py"
    plugin.write_text(
        "from fastapi import APIRouter\nrouter = APIRouter()\n"
        "@router.get('/ping')\nasync def ping():\n    return {'pong': True}\n"
    )
    app = create_plugin_app(parse_plugin_config({"plugins": [{"name": "hi", "path": "hello.py"}]},
                                                tmp_path))  # fmt: skip
    with ServerThread(app) as running:
        assert httpx.get(f"{running.url}/hi/ping").json() == {"pong": True}
        assert httpx.get(f"{running.url}/health").json()["plugins"] == ["hi"]
