"""Two servers behind a load balancer on one PostgreSQL: a pizza order call on each, at the
same time, and each server's calls API shows both calls with their turns and orders."""

import asyncio

import httpx
import pytest

from tests.conftest import make_settings, serve_in_thread
from tests.fakes.riva_server import FakeRivaServer
from voxline.app import create_app
from voxline.caller import Line, SimulatedCaller
from voxline.services import build_services

pytestmark = pytest.mark.e2e
SAID = "I'd like a large pepperoni pizza on thin crust"


async def test_two_servers_on_one_database_see_each_others_calls(
    pizza_bot, speak, tmp_path, postgres_url
):
    async with FakeRivaServer([SAID, "yes"]) as riva_a, FakeRivaServer([SAID, "yes"]) as riva_b:
        servers, hosts, loops, stores = [], [], [], []
        try:
            for name, riva in (("a", riva_a), ("b", riva_b)):
                settings = make_settings(
                    tmp_path / name, asr="riva", tts="riva", riva_server=riva.target,
                    agent="form", database_url=postgres_url,
                )  # fmt: skip
                services = await asyncio.to_thread(build_services, settings, pizza_bot)
                servers.append(serve_in_thread(create_app(settings, pizza_bot, services), settings))
                host, loop = await asyncio.to_thread(next, servers[-1])
                hosts.append(host)
                loops.append(loop)
                stores.append(services.records)
            results = await asyncio.gather(
                *(
                    SimulatedCaller(
                        f"ws://{h}/ws",
                        [Line(SAID, speak(SAID)), Line("yes", speak("yes"))],
                        idle_s=2.0,
                    ).run()
                    for h in hosts
                )
            )
            sids = {r.call_sid for r in results}
            listed: list[dict] = []
            async with httpx.AsyncClient(timeout=10) as http:
                for host in hosts:
                    for _ in range(100):  # until both calls have ended and been written
                        calls = (await http.get(f"http://{host}/api/calls")).json()["calls"]
                        done = {c["id"] for c in calls if c["ended_at"]}
                        if sids <= done:
                            break
                        await asyncio.sleep(0.1)
                    assert sids <= done, host
                    for sid in sids:
                        listed.append((await http.get(f"http://{host}/api/calls/{sid}")).json())
        finally:
            for store, loop in zip(stores, loops, strict=False):
                asyncio.run_coroutine_threadsafe(store.close(), loop).result(10)
            for server in servers:
                await asyncio.to_thread(next, server, None)

    assert len(listed) == 4  # each server, each call
    for call in listed:
        assert call["outcome"] == "order placed" and call["transport"] == "twilio"
        assert [o["details"]["crust"] for o in call["orders"]] == ["thin"]
        user = [t for t in call["turns"] if t["role"] == "user"]
        assert [t["text"] for t in user] == [SAID, "yes"] and user[0]["timings"][
            "outcome"
        ] == "spoken"
    # The same rows whichever server is asked; a recording is a file on the server that took
    # the call, so only that one links it.
    rows = [{c["id"]: {**c, "recording": None} for c in listed[i : i + 2]} for i in (0, 2)]
    assert rows[0] == rows[1]
