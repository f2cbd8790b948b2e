"""A server for the talk page: the session's embedded models, its own records and recordings."""

from collections.abc import Iterator

import pytest

from tests.conftest import RunningServer, make_settings, serve_in_thread
from voxline.app import create_app
from voxline.call_services import CallServices
from voxline.recording import Recordings, recordings_dir
from voxline.records_sqlite import SqliteRecords


@pytest.fixture(scope="session")
def talk_server(pizza_bot, embedded_services, tmp_path_factory) -> Iterator[RunningServer]:
    tmp = tmp_path_factory.mktemp("talk")
    settings = make_settings(tmp, max_calls=2)
    services = CallServices(
        bot=pizza_bot,
        recognizer=embedded_services.recognizer,
        synthesizer=embedded_services.synthesizer,
        agent_factory=embedded_services.agent_factory,
        records=SqliteRecords(tmp / "voxline.sqlite3"),
        vad=embedded_services.vad,
        observers=[Recordings(recordings_dir(settings))],
    )
    app = create_app(settings, pizza_bot, services)
    for host, loop in serve_in_thread(app, settings):
        yield RunningServer(f"http://{host}", f"ws://{host}/talk/ws", settings, services, loop)
