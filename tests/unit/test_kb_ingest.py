"""Each supported file type becomes clean text; bad files are refused with a reason."""

from pathlib import Path

import pytest

from voxline.kb.ingest import IngestError, extract_text


def make_pdf(pages: list[str]) -> bytes:
    """A minimal valid PDF (Helvetica text, one line per page), written by hand."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", ""]
    kids = []
    for text in pages:
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
        page_id = len(objects) + 1
        kids.append(f"{page_id} 0 R")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 {page_id + 2} 0 R >> >> /Contents {page_id + 1} 0 R >>"
        )
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream.decode()}\nendstream")
        objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>"
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    trailer = f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    out += trailer.encode()
    return bytes(out)


def test_txt():
    assert extract_text("a.txt", b"Hello\tthere.\r\nSecond  line.") == (
        "Hello there.\nSecond line."
    )


def test_markdown_keeps_words_not_markup():
    md = b"# Title\n\nSee **bold** and [the docs](http://x.example).\n\n- item one\n```\ncode\n```"
    text = extract_text("a.md", md)
    assert "Title" in text and "bold" in text and "the docs" in text and "item one" in text
    for junk in ("#", "**", "http://", "```", "code"):
        assert junk not in text


def test_html_main_text_without_navigation_or_scripts():
    html = b"""<html><head><script>var tracking = 1;</script></head><body>
    <nav><a href="/">Home</a> <a href="/shop">Shop</a></nav>
    <article><h1>Returns</h1><p>You can return a bike within 30 days of delivery for a full
    refund, as long as it has been ridden less than 100 kilometres.</p>
    <p>Accessories can be returned unused within 60 days of delivery.</p></article>
    <footer>Cookie settings and privacy policy</footer></body></html>"""
    text = extract_text("page.html", html)
    assert "within 30 days" in text and "60 days" in text
    assert "tracking" not in text and "Cookie" not in text


def test_pdf_pages():
    text = extract_text("f.pdf", make_pdf(["The frame warranty is seven years.", "Page two."]))
    assert "The frame warranty is seven years." in text and "Page two." in text


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("a.pdf", b"not a pdf at all", "not a PDF"),
        ("a.pdf", b"%PDF-1.4 garbage", "PDF"),
        ("a.txt", b"\xff\xfe\x00\x00binary", "binary"),
        ("a.txt", "caf\xe9".encode("latin-1"), "UTF-8"),
        ("a.txt", b"   \n ", "no text"),
        ("a.docx", b"PK", "unsupported"),
    ],
)
def test_bad_files_are_refused(name, data, reason):
    with pytest.raises(IngestError, match=reason):
        extract_text(name, data)


def test_the_same_page_read_again_and_again_keeps_its_text():
    """A page re-synced or re-uploaded in the same process: trafilatura's process-wide
    duplicate cache once dropped every paragraph it had seen before."""
    page = Path(__file__).resolve().parents[2] / "bots" / "rag" / "docs" / "warranty.html"
    first = extract_text("warranty.html", page.read_bytes())
    assert "seven years" in first
    for _ in range(4):  # trafilatura dropped a paragraph seen more than twice
        assert extract_text("warranty.html", page.read_bytes()) == first
