"""Generated requests on the plugin endpoints (/{bot}/chat, /event) and the knowledge base
(/kb/documents, /kb/search): every bad one gets a 4xx with a readable error, never a 500, and
the server answers normally afterwards."""

from __future__ import annotations

import json

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.fakes.ace_plugin_server import ServerThread
from tests.fakes.scripted_stack import ScriptedStack
from tests.fuzz.strategies import json_values
from voxline.kb.embed import get_embedder
from voxline.kb.routes import kb_router
from voxline.kb.search import LocalKnowledgeBase
from voxline.kb.store import KnowledgeStore
from voxline.security import BodyLimitMiddleware

FUZZ = settings(
    max_examples=150,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)
KB_LIMIT = 16 * 1024


def refused_clearly(r: httpx.Response) -> bool:
    """A 4xx whose body says what was wrong (JSON ``message`` or ``detail``, or plain text)."""
    if not 400 <= r.status_code < 500:
        return False
    if r.headers.get("content-type", "").startswith("application/json"):
        body = r.json()
        return bool(body.get("message") or body.get("detail"))
    return bool(r.text.strip())


def last_chunk(text: str) -> dict:
    """The last of the ChatResponse JSON objects the stream concatenates."""
    decoder, at, chunk = json.JSONDecoder(), 0, {}
    while at < len(text):
        chunk, at = decoder.raw_decode(text, at)
    return chunk


# --- the plugin endpoints -------------------------------------------------------------------


@pytest.fixture(scope="module")
def plugin(pizza_bot, tmp_path_factory):
    stack = ScriptedStack(pizza_bot, tmp_path_factory.mktemp("plugin"), ["hello"])
    with stack, httpx.Client(base_url=stack.server.url, timeout=30) as http:
        yield http


history = st.lists(
    st.fixed_dictionaries(
        {
            "role": st.sampled_from(["user", "assistant", "system", "x"]),
            "content": st.text(max_size=40) | json_values,
        }
    )
    | json_values,
    max_size=4,
)
chat_bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={
            "Query": st.text(max_size=80) | json_values,
            "UserId": st.text(max_size=20) | json_values,
            "Metadata": st.fixed_dictionaries({}, optional={"ChatHistory": history}) | json_values,
            "EventType": st.sampled_from(["system.event_pipeline_released", ""]) | json_values,
        },
    ),
)
raw_bodies = st.binary(max_size=200) | st.text(max_size=200).map(str.encode)


@FUZZ
@given(path=st.sampled_from(["/pizza/chat", "/pizza/event"]), body=chat_bodies)
def test_plugin_json_bodies_get_an_answer_or_a_clear_4xx(plugin, path, body):
    r = plugin.post(path, content=json.dumps(body))
    assert r.status_code == 200 or refused_clearly(r), (r.status_code, r.text[:200])
    if r.status_code == 200 and path.endswith("chat"):
        assert last_chunk(r.text)["Response"]["IsFinal"] is True


@FUZZ
@given(
    path=st.sampled_from(["/pizza/chat", "/pizza/event"]),
    body=raw_bodies,
    kind=st.sampled_from(["application/json", "text/plain", "multipart/form-data", ""]),
)
def test_plugin_junk_bodies_and_content_types_get_a_clear_4xx(plugin, path, body, kind):
    r = plugin.post(path, content=body, headers={"content-type": kind})
    assert r.status_code == 200 or refused_clearly(r), (r.status_code, r.text[:200])


def test_the_plugin_server_is_fine_afterwards(plugin):
    r = plugin.post("/pizza/chat", json={"UserId": "u", "Query": "hi"})
    assert r.status_code == 200 and '"IsFinal":true' in r.text
    assert plugin.get("/health").json()["status"] == "ok"


# --- the knowledge base ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def kb(tmp_path_factory):
    store = KnowledgeStore(tmp_path_factory.mktemp("kb") / "kb.sqlite", get_embedder().encode)
    app = FastAPI()
    app.include_router(kb_router(LocalKnowledgeBase(store), max_bytes=KB_LIMIT))
    app.add_middleware(BodyLimitMiddleware, default=2**20, limits={"/kb/": KB_LIMIT + 64 * 1024})
    with ServerThread(app) as running, httpx.Client(base_url=running.url, timeout=60) as http:
        yield http
    store.close()


names = st.sampled_from(["a.txt", "b.md", "c.pdf", "d.html", "e.exe", "../x.txt", ".hidden.md"])
names = names | st.text(max_size=30)
contents = st.one_of(
    st.binary(max_size=2000),
    st.text(max_size=2000).map(str.encode),
    st.sampled_from([b"%PDF-1.4 broken", b"<html><body>", b"", b"\x00" * 100]),
    st.integers(KB_LIMIT - 10, KB_LIMIT + 100 * 1024).map(lambda n: b"a " * (n // 2)),
)


@FUZZ
@given(name=names, data=contents, field=st.sampled_from(["file", "file", "document"]),
       kind=st.sampled_from(["text/plain", "application/pdf", "image/png"]))  # fmt: skip
def test_kb_uploads_are_stored_or_refused_clearly(kb, name, data, field, kind):
    r = kb.post("/kb/documents", files={field: (name, data, kind)})
    assert r.status_code == 201 or refused_clearly(r), (r.status_code, r.text[:200])
    if len(data) > KB_LIMIT:
        assert r.status_code in (413, 400, 415, 422)


@FUZZ
@given(body=raw_bodies, kind=st.sampled_from(["multipart/form-data", "text/plain", ""]))
def test_kb_uploads_that_are_not_multipart_get_a_clear_4xx(kb, body, kind):
    r = kb.post("/kb/documents", content=body, headers={"content-type": kind})
    assert refused_clearly(r), (r.status_code, r.text[:200])


@FUZZ
@given(q=st.text(max_size=600), k=st.integers(-5, 10**6) | st.text(max_size=5))
def test_kb_search_with_odd_queries(kb, q, k):
    r = kb.get("/kb/search", params={"q": q, "k": k})
    assert r.status_code == 200 or refused_clearly(r), (r.status_code, r.text[:200])


def test_the_kb_is_fine_afterwards(kb):
    r = kb.post("/kb/documents", files={"file": ("ok.md", b"Open at nine.")})
    assert r.status_code == 201
    assert kb.get("/kb/search", params={"q": "when open"}).status_code == 200
