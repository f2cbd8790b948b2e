"""/kb over real HTTP: upload, list, search, delete, the page, and upload abuse refused with
nothing stored (oversize, wrong type, unsafe names)."""

import httpx
import pytest
from fastapi import FastAPI

from tests.fakes.ace_plugin_server import ServerThread
from tests.unit.test_kb_ingest import make_pdf
from voxline.kb.embed import get_embedder
from voxline.kb.routes import kb_router, safe_name
from voxline.kb.search import LocalKnowledgeBase
from voxline.kb.store import KnowledgeStore

LIMIT = 64 * 1024


@pytest.fixture
def server(tmp_path):
    store = KnowledgeStore(tmp_path / "kb.sqlite", get_embedder().encode)
    app = FastAPI()
    app.include_router(kb_router(LocalKnowledgeBase(store), max_bytes=LIMIT))
    with ServerThread(app) as running:
        running.store = store
        yield running
    store.close()


def nothing_stored(store: KnowledgeStore) -> bool:
    return store.documents() == [] and store.chunk_count() == 0


def test_upload_list_search_replace_delete(server):
    url = f"{server.url}/kb"
    r = httpx.post(f"{url}/documents", files={"file": ("faq.pdf", make_pdf(["Parking is free."]))})
    assert r.status_code == 201 and r.json()["status"] == "added"
    r = httpx.post(f"{url}/documents", files={"file": ("hours.md", b"# Hours\n\nOpen at nine.")})
    assert r.status_code == 201
    r = httpx.post(f"{url}/documents", files={"file": ("hours.md", b"Open at ten on Sundays.")})
    assert r.json()["status"] == "replaced"
    docs = httpx.get(f"{url}/documents").json()["documents"]
    assert [d["name"] for d in docs] == ["faq.pdf", "hours.md"]
    hits = httpx.get(f"{url}/search", params={"q": "when do you open on sunday", "k": 1}).json()
    assert hits["hits"][0]["document"] == "hours.md" and "ten" in hits["hits"][0]["text"]
    assert httpx.delete(f"{url}/documents/hours.md").status_code == 200
    assert httpx.delete(f"{url}/documents", params={"filename": "faq.pdf"}).status_code == 200
    assert httpx.delete(f"{url}/documents/faq.pdf").status_code == 404
    assert nothing_stored(server.store)


def test_page_is_served(server):
    page = httpx.get(f"{server.url}/kb")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'id="upload"' in page.text and "documents" in page.text


@pytest.mark.parametrize(
    ("name", "data", "status"),
    [
        ("big.txt", b"a " * LIMIT, 413),
        ("evil.exe", b"MZ", 415),
        ("notes.docx", b"PK\x03\x04", 415),
        ("fake.pdf", b"this is not a pdf", 415),
        ("../escape.txt", b"hello", 400),
        ("..\\escape.txt", b"hello", 400),
        ("/etc/passwd.txt", b"hello", 400),
        ("sub/dir.txt", b"hello", 400),
        (".hidden.txt", b"hello", 400),
        ("..", b"hello", 400),
        ("empty.txt", b"", 422),
    ],
)
def test_upload_abuse_is_refused_and_nothing_stored(server, name, data, status):
    r = httpx.post(f"{server.url}/kb/documents", files={"file": (name, data)})
    assert r.status_code == status, r.text
    assert r.json()["detail"]
    assert nothing_stored(server.store)


def test_missing_file_field(server):
    r = httpx.post(f"{server.url}/kb/documents", data={"other": "x"})
    assert r.status_code == 422
    assert nothing_stored(server.store)


def test_safe_name_accepts_ordinary_names():
    assert safe_name("Warranty 2024 (v2).pdf") == "Warranty 2024 (v2).pdf"
