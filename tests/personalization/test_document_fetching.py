"""WeasyPrint fetches nothing a document did not bring along: `data:` URLs and the project's own
static files only. A file:// path (/etc/passwd, a key file) or an http:// URL (an internal
service, a cloud metadata endpoint) in a template or a document's value is refused, not read."""

from __future__ import annotations

import io
import subprocess
import threading
from dataclasses import replace
from datetime import date
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from PIL import Image

from personalization.documents.render import (
    CardDocument,
    card_face_pdf,
    html_to_pdf,
    photo_data_uri,
)

pytestmark = pytest.mark.poppler


def _png() -> bytes:
    image = io.BytesIO()
    Image.new("RGB", (40, 40), "#884422").save(image, "PNG")
    return image.getvalue()


def _images(pdf: bytes, tmp_path) -> int:
    """How many images the PDF embeds (poppler's pdfimages)."""
    path = tmp_path / "out.pdf"
    path.write_bytes(pdf)
    listing = subprocess.run(
        ["pdfimages", "-list", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return len(listing.splitlines()[2:])  # two header lines


@pytest.fixture
def http_server():
    """A local HTTP server that records every request and answers with a PNG."""
    hits: list[str] = []
    body = _png()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", hits
    server.shutdown()
    server.server_close()


def test_http_urls_are_never_fetched(http_server, tmp_path):
    base, hits = http_server
    html = (
        f'<link rel="stylesheet" href="{base}/style.css">'
        f'<style>@import url("{base}/import.css"); body {{ background: url("{base}/bg.png") }}'
        f'</style><p>x</p><img src="{base}/latest/meta-data/iam">'
    )
    pdf = html_to_pdf(html)
    assert hits == []
    assert _images(pdf, tmp_path) == 0


def test_file_urls_are_never_read(tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(_png())
    html = (
        f'<img src="file://{secret}"><img src="file:///etc/passwd">'
        f'<link rel="stylesheet" href="file:///etc/passwd">'
    )
    assert _images(html_to_pdf(html), tmp_path) == 0


def test_data_urls_are_embedded(tmp_path):
    # The control: the same check sees an image that is allowed in.
    html = f'<img src="{photo_data_uri(_png(), "image/png")}">'
    assert _images(html_to_pdf(html), tmp_path) == 1


def test_the_projects_static_files_are_allowed(tmp_path, settings):
    static = tmp_path / "static"
    static.mkdir()
    (static / "logo.png").write_bytes(_png())
    settings.STATICFILES_DIRS = [static]
    html = f'<img src="file://{static / "logo.png"}">'
    assert _images(html_to_pdf(html), tmp_path) == 1


def test_a_documents_photo_url_pointing_elsewhere_is_not_fetched(http_server, tmp_path):
    base, hits = http_server
    document = CardDocument(
        card_serial="CF-TEST-0001",
        holder_name="Jean Dupont",
        first_name="Jean",
        last_name="Dupont",
        profession="Physician",
        profession_code=10,
        rpps="10000000017",
        specialty="",
        organisation="",
        expires_on=date(2029, 1, 1),
        issued_on=date(2026, 1, 1),
        address_lines=["Jean Dupont"],
        country="FR",
        profile_name="hpc-physician",
    )
    pdf = card_face_pdf(replace(document, photo_data_uri=f"{base}/photo.png"))
    assert hits == []
    assert _images(pdf, tmp_path) == 0
