"""The report's files: the PDF (readable pages with charts and tables, signed by the platform,
the signature checked by pyHanko and by poppler's pdfsig) and the CSV files (safe in a
spreadsheet)."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from django.utils import timezone
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from accounts.roles import Role
from pki.services.signing import ca_certificate
from reports.figures import Table
from reports.models import AuditReport
from reports.services import report_request
from reports.tables import csv_cell, table_csv

pytestmark = pytest.mark.django_db
poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdfsig") is None,
    reason="poppler-utils is not installed",
)


@pytest.fixture
def ready(period, users, django_capture_on_commit_callbacks) -> AuditReport:
    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        report = report_request(start=today, end=today, by=users[Role.AUDITOR])
    report.refresh_from_db()
    assert (report.status, report.error) == ("ready", "")
    return report


def _root_pem(pki, tmp_path: Path) -> Path:
    path = tmp_path / "root.pem"
    path.write_bytes(ca_certificate(pki.root).public_bytes(serialization.Encoding.PEM))
    return path


def _validate(pdf: bytes, root: Path):
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    (signature,) = reader.embedded_signatures
    context = ValidationContext(
        trust_roots=[load_cert_from_pemder(str(root))], allow_fetching=False
    )
    return validate_pdf_signature(signature, context)


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+33 1 23", "'+33 1 23"),
        ("-cmd|' /C calc'!A0", "'-cmd|' /C calc'!A0"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1+1", "'\t=1+1"),
        ("Dr Zoé Martin", "Dr Zoé Martin"),
        (-3, "-3"),
        (42, "42"),
        (None, ""),
    ],
)
def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_written_as_text(value, written):
    assert csv_cell(value) == written


def test_every_table_is_a_csv_file_of_the_zip_with_the_report_parameters(ready):
    archive = zipfile.ZipFile(io.BytesIO(bytes(ready.csv_zip)))
    names = set(archive.namelist())
    assert {"parameters.csv", "activity_by_day.csv", "approvals.csv", "checkpoints.csv"} <= names
    rows = list(csv.reader(io.StringIO(archive.read("activity_by_day.csv").decode("utf-8-sig"))))
    assert rows[0] == ["Day", "Submitted", "Approved", "Rejected", "Cards personalized"]
    assert rows[1][1:] == ["6", "4", "1", "3"]
    parameters = dict(csv.reader(io.StringIO(archive.read("parameters.csv").decode("utf-8-sig"))))
    assert parameters["Organisation"] == "all"


def test_a_hostile_value_reaches_the_csv_as_text():
    table = Table("t", "T", ["Reason"], [["=cmd|'/C calc'!A0"], ["@import"]])
    rows = list(csv.reader(io.StringIO(table_csv(table).decode("utf-8-sig"))))
    assert rows[1:] == [["'=cmd|'/C calc'!A0"], ["'@import"]]


@poppler
def test_the_pdf_reads_as_a_report_page_by_page(ready, tmp_path):
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(bytes(ready.pdf))
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    for heading in (
        "Audit report",
        "Contents",
        "1. Activity",
        "2. Inventory",
        "3. Certificates",
        "4. Dual control",
        "5. Operations",
        "6. Integrity of the audit trail",
        "No self-approval exists in the period",
        "Page 2 of",
    ):
        assert heading in text, heading
    assert timezone.localdate().isoformat() in text
    # The charts are SVG drawn into the page: their text (titles, labels) is text in the PDF.
    assert text.count("Card requests and cards per day") >= 2  # the chart and the table
    pages = int(
        next(
            line.split()[-1]
            for line in subprocess.run(
                ["pdfinfo", str(pdf)], capture_output=True, text=True, check=True
            ).stdout.splitlines()
            if line.startswith("Pages:")
        )
    )
    assert pages >= 7  # cover, contents, six sections
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(pdf), str(tmp_path / "page")], check=True)
    images = sorted(tmp_path.glob("page-*.png"))
    assert len(images) == pages
    # Every page has something on it: a blank A4 page at 50 dpi compresses to under 1 kB.
    assert all(image.stat().st_size > 2000 for image in images)


def test_the_signature_validates_with_pyhanko_under_the_platform_root(ready, pki, tmp_path):
    status = _validate(bytes(ready.pdf), _root_pem(pki, tmp_path))
    assert status.intact
    assert status.valid
    assert status.trusted
    assert status.signing_cert.subject.native["common_name"] == "CardForge Reports"
    assert status.coverage.name == "ENTIRE_FILE"


def test_a_byte_changed_in_the_pdf_breaks_the_signature(ready, pki, tmp_path):
    pdf = bytearray(ready.pdf)
    position = bytes(pdf).index(b"/Producer")  # inside the signed range, in the document info
    pdf[position + 1] = ord("Q")
    status = _validate(bytes(pdf), _root_pem(pki, tmp_path))
    assert not status.intact


@poppler
def test_pdfsig_says_the_signature_is_valid_and_not_once_a_byte_changed(ready, tmp_path):
    signed = tmp_path / "signed.pdf"
    signed.write_bytes(bytes(ready.pdf))
    good = subprocess.run(["pdfsig", str(signed)], capture_output=True, text=True, check=False)
    assert "Signature Validation: Signature is Valid." in good.stdout
    assert "Signer Certificate Common Name: CardForge Reports" in good.stdout
    tampered = tmp_path / "tampered.pdf"
    data = bytearray(ready.pdf)
    position = bytes(data).index(b"/Producer")  # in the signed range
    data[position + 1] = ord("Q")
    tampered.write_bytes(bytes(data))
    bad = subprocess.run(["pdfsig", str(tampered)], capture_output=True, text=True, check=False)
    assert "Signature is Valid." not in bad.stdout
    assert "Digest Mismatch" in bad.stdout or "Signature is Invalid" in bad.stdout


@poppler
def test_a_long_table_lists_its_first_rows_and_the_pdf_states_every_csv_files_digest(
    ready, monkeypatch, tmp_path
):
    import hashlib

    from reports import documents
    from reports.figures import report_figures
    from reports.services import report_parameters
    from reports.tables import report_csv_files

    monkeypatch.setattr(documents, "PDF_TABLE_ROWS", 2)  # the period holds 5 decisions
    figures = report_figures(report_parameters(ready))
    files = report_csv_files(figures)
    pdf = tmp_path / "short.pdf"
    pdf.write_bytes(documents.report_pdf(figures, files))
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "3 more in approvals.csv" in " ".join(text.split())
    flat = text.replace("\n", "")
    assert hashlib.sha256(files["approvals.csv"]).hexdigest() in flat
    archive = zipfile.ZipFile(io.BytesIO(bytes(ready.csv_zip)))
    assert set(archive.namelist()) == set(files)
