"""Two ACE plugin servers behind a load balancer, sharing one PostgreSQL: a conversation begun
on one continues on the other, and the order it places lands in the shared records."""

import json
from pathlib import Path

import httpx

from tests.fakes.ace_plugin_server import ServerThread
from voxline.ace.plugin_config import PluginServerConfig, PluginSpec
from voxline.ace.plugin_server import create_plugin_app
from voxline.agents.form import FormAgent
from voxline.config import load_settings
from voxline.records import records_for_url

PIZZA = Path(__file__).resolve().parents[2] / "bots" / "pizza"


def pizza_plugin_server(url: str, tmp_path: Path):
    settings = load_settings(env={}, data_dir=str(tmp_path), database_url=url)
    app = create_plugin_app(
        PluginServerConfig((PluginSpec("pizza", bot=PIZZA),)),
        settings,
        agent_factory=lambda s, bot, kind: FormAgent(bot),  # offline, its state is the history
    )
    return ServerThread(app)


async def say(server: ServerThread, text: str, session: str) -> str:
    body = {"Query": text, "UserId": session, "Metadata": {"SessionId": session}}
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(f"{server.url}/pizza/chat", json=body)
    assert response.status_code == 200
    decoder, pos, pieces = json.JSONDecoder(), 0, []
    while pos < len(response.text):
        value, pos = decoder.raw_decode(response.text, pos)
        pieces.append(value["Response"]["Text"])
    return " ".join(p.strip() for p in pieces if p.strip())


async def test_a_conversation_moves_between_two_servers_on_one_database(postgres_url, tmp_path):
    with (
        pizza_plugin_server(postgres_url, tmp_path / "a") as a,
        pizza_plugin_server(postgres_url, tmp_path / "b") as b,
    ):
        assert "crust" in (await say(a, "I'd like a large pepperoni pizza", "s1")).lower()
        done = await say(b, "thin crust", "s1")  # the balancer sent the next turn elsewhere
        assert "large pepperoni pizza on thin crust" in done and done.endswith("order?")
        assert "placed your order" in await say(a, "yes", "s1")
        again = await say(b, "yes", "s1")  # the placed order is in the session: not twice
        assert "placed your order" not in again
        # Another session on the second server starts from nothing.
        assert "size" in (await say(b, "a pizza please", "s2")).lower()

    store = records_for_url(postgres_url, tmp_path)
    try:
        orders = await store.orders("s1")
        assert [o["details"] for o in orders] == [
            {"size": "large", "toppings": ["pepperoni"], "crust": "thin", "price": 17.49}
        ]
        history = await store.load_session("pizza/s1")
        roles = [m["role"] for m in history]
        assert roles[:2] == ["user", "assistant"] and roles.count("tool") == 2  # quote, place
        assert history[2]["content"] == "thin crust"
    finally:
        await store.close()


async def test_a_released_pipeline_forgets_its_conversation(postgres_url, tmp_path):
    with pizza_plugin_server(postgres_url, tmp_path) as server:
        await say(server, "I'd like a large pepperoni pizza", "u9")
        async with httpx.AsyncClient(timeout=30) as client:
            released = await client.post(
                f"{server.url}/pizza/event",
                json={"EventType": "system.event_pipeline_released", "UserId": "u9"},
            )
        assert released.status_code == 200
        reply = await say(server, "thin crust", "u9")
    assert "large pepperoni" not in reply and "size" in reply.lower()
