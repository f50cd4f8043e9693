"""PKI benchmark: certificate issuance, 100,000-entry CRLs and OCSP, each next to a baseline
measured in the same run. Not a test: run it and read the ratios.

    .venv/bin/python benchmarks/pki.py                  # SQLite in a temporary directory
    .venv/bin/python benchmarks/pki.py --database-url postgres://USER@HOST:5432/BENCH_DB
      (a database of its own: it is flushed first)

1. Issuance: N card keys (RSA-2048 and EC P-256) are generated once; the baseline builds and
   signs the same certificate (same extensions, same CA key) with bare `cryptography`; the
   service path is `certificate_issue` (profile, database row, audit event, key backend). The
   ratio is (key generation + service) / (key generation + baseline), and signing alone.
2. CRL: 100,000 revoked certificates of one CA; `crl_generate` (query, splice, sign, store,
   audit) against `openssl ca -gencrl` over an index.txt of the same entries and the same key.
3. OCSP: responses per second from `ocsp_respond`, and through Django's WSGI handler (the whole
   middleware stack, no network) in one process per core; baseline: bare `cryptography`
   building and signing one response. A revocation must show in the very next response.

One script over 400 lines on purpose: a benchmark is read and run whole, its set-up, baselines
and measured paths side by side; it is not imported by the application.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import io
import multiprocessing
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def configure(database_url: str | None) -> Path:
    work = Path(tempfile.mkdtemp(prefix="cardforge-bench-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    # As in production: DEBUG off (it records every query), INFO lines not printed per request.
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["CARDFORGE_VAR_DIR"] = str(work / "var")
    os.environ["STATIC_ROOT"] = str(work)  # WhiteNoise wants it to exist
    os.environ.setdefault("CARDFORGE_KEK", base64.b64encode(secrets.token_bytes(32)).decode())
    os.environ["CARDFORGE_PKI_BASE_URL"] = "http://pki.example.org"
    # CRLs regenerated on revocation run in this process.
    os.environ["CELERY_BROKER_URL"] = "memory://"
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    if database_url:
        call_command("flush", verbosity=0, interactive=False)
    return work


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:10,.0f}/s"


# --- 1. issuance -----------------------------------------------------------------------------


def bare_certificate(ca_key, ca_certificate, subject, public_key, *, base_url, slug):
    """What certificate_issue signs, written with nothing but cryptography."""
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier

    now = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=1)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_certificate.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1095))
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), True
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_certificate.public_key()), False
        )
        .add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        x509.AuthorityInformationAccessOID.OCSP,
                        x509.UniformResourceIdentifier(f"{base_url}/pki/ocsp/{slug}/"),
                    ),
                    x509.AccessDescription(
                        x509.AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier(f"{base_url}/pki/ca/{slug}.crt"),
                    ),
                ]
            ),
            False,
        )
        .add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        [x509.UniformResourceIdentifier(f"{base_url}/pki/crl/{slug}.crl")],
                        None,
                        None,
                        None,
                    )
                ]
            ),
            False,
        )
        .add_extension(
            x509.CertificatePolicies(
                [x509.PolicyInformation(ObjectIdentifier("1.3.6.1.4.1.32473.1.1"), None)]
            ),
            False,
        )
        .sign(ca_key, ca_key_hash(ca_key))
    )


def ca_key_hash(key):
    from cryptography.hazmat.primitives import hashes

    return hashes.SHA384() if key.key_size == 384 else hashes.SHA256()


def bench_issuance(count: int, professional, ca) -> list[tuple[str, str]]:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from django.conf import settings

    from issuance.identity import identity_of
    from pki.key_backends import key_backend
    from pki.profiles import professional_name
    from pki.services.certificates import certificate_issue

    ca_certificate = x509.load_der_x509_certificate(bytes(ca.certificate_der))
    # The benchmark, not the product, reaches into the backend for the clear key: the baseline
    # must sign with the same key, as plain cryptography would.
    ca_key = key_backend(ca.key_backend)._load_private(ca.key_handle)
    subject = professional_name(identity_of(professional))
    lines = []
    for name, generate in (
        ("RSA-2048", lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        ("EC P-256", lambda: ec.generate_private_key(ec.SECP256R1())),
    ):
        started = time.perf_counter()
        keys = [generate() for _ in range(count)]
        keygen = time.perf_counter() - started
        publics = [key.public_key() for key in keys]
        # Warm both paths (imports, caches, the CA key's first load) before timing.
        base_url = settings.CARDFORGE_PKI_BASE_URL
        bare_certificate(
            ca_key, ca_certificate, subject, publics[0], base_url=base_url, slug=ca.slug
        )
        certificate_issue(
            public_key=publics[0], profile="hp-authentication", professional=professional
        )
        started = time.perf_counter()
        for public in publics:
            bare_certificate(
                ca_key, ca_certificate, subject, public, base_url=base_url, slug=ca.slug
            )
        baseline = time.perf_counter() - started
        started = time.perf_counter()
        for public in publics:
            certificate_issue(
                public_key=public, profile="hp-authentication", professional=professional
            )
        service = time.perf_counter() - started
        ratio = (keygen + service) / (keygen + baseline)
        lines.append(
            (
                f"issue {name} key ({count})",
                f"keygen+service {rate(count, keygen + service)}   keygen+bare "
                f"{rate(count, keygen + baseline)}   ratio {ratio:.2f}",
            )
        )
        lines.append(
            (
                f"  signing only ({name})",
                f"service {rate(count, service)}   bare {rate(count, baseline)}   "
                f"ratio {service / baseline:.2f}",
            )
        )
    # A card's set of four through certificates_issue (one transaction, one audit batch).
    from pki.services.certificates import CertificateRequest, certificates_issue

    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    card_set = [
        CertificateRequest(public, profile)
        for profile in (
            "hp-authentication",
            "hp-qualified-signature",
            "hp-encryption",
            "hp-card-authentication",
        )
    ]
    cards = max(1, count // 4)
    certificates_issue(requests=card_set, professional=professional)
    started = time.perf_counter()
    for _ in range(cards):
        certificates_issue(requests=card_set, professional=professional)
    elapsed = time.perf_counter() - started
    lines.append(
        (
            f"card sets of 4, EC P-256 ({cards})",
            f"{rate(cards, elapsed)} sets = {rate(cards * 4, elapsed)} certificates",
        )
    )
    return lines


# --- 2. CRL ----------------------------------------------------------------------------------


def bench_crl(entries: int, professional, ca, work: Path, runs: int) -> list[tuple[str, str]]:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from django.db import transaction
    from django.utils import timezone

    from pki.der import crl_entry_der
    from pki.key_backends import key_backend
    from pki.models import Certificate
    from pki.services.crl import crl_generate
    from pki.x509util import der_to_pem, serial_hex

    now = timezone.now().replace(microsecond=0)
    reasons = [1, 3, 4, 5, 6]  # what openssl ca accepts in index.txt
    rows = []
    index_lines = []
    for number in range(entries):
        serial = x509.random_serial_number()
        revoked_at = now - dt.timedelta(seconds=number)
        reason = reasons[number % len(reasons)]
        rows.append(
            Certificate(
                ca=ca,
                serial=serial_hex(serial),
                profile="hp-authentication",
                subject=f"CN=bench {number}",
                not_before=now - dt.timedelta(days=10),
                not_after=now + dt.timedelta(days=365),
                fingerprint_sha256=secrets.token_hex(32),
                der=b"",  # the CRL never reads it; a real row holds ~1 KB here
                status="on_hold" if reason == 6 else "revoked",
                professional=professional,
                revoked_at=revoked_at,
                revocation_reason=reason,
                crl_entry=crl_entry_der(serial, revoked_at, reason),
            )
        )
        openssl_reason = {
            1: "keyCompromise",
            3: "affiliationChanged",
            4: "superseded",
            5: "cessationOfOperation",
            6: "certificateHold",
        }[reason]
        index_lines.append(
            f"R\t{(now + dt.timedelta(days=365)):%y%m%d%H%M%S}Z\t"
            f"{revoked_at:%y%m%d%H%M%S}Z,{openssl_reason}\t{serial_hex(serial)}\tunknown\t"
            f"/CN=bench {number}\n"
        )
    with transaction.atomic():
        Certificate.objects.bulk_create(rows, batch_size=2000)

    service_times = []
    for _ in range(runs):
        started = time.perf_counter()
        crl = crl_generate(ca=ca)
        service_times.append(time.perf_counter() - started)
    assert len(x509.load_der_x509_crl(bytes(crl.der))) >= entries

    # For reference: the same entries through cryptography's CRL builder, no database involved.
    from cryptography.hazmat.primitives import hashes

    key = key_backend(ca.key_backend)._load_private(ca.key_handle)
    issuer = x509.load_der_x509_certificate(bytes(ca.certificate_der))
    started = time.perf_counter()
    revoked = [
        x509.RevokedCertificateBuilder()
        .serial_number(int(row.serial, 16))
        .revocation_date(row.revoked_at)
        .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
        .build()
        for row in rows
    ]
    x509.CertificateRevocationListBuilder(
        issuer_name=issuer.subject,
        last_update=now,
        next_update=now + dt.timedelta(days=1),
        revoked_certificates=revoked,
    ).sign(key, hashes.SHA256())
    builder_time = time.perf_counter() - started

    directory = work / "openssl-ca"
    directory.mkdir()
    (directory / "ca.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (directory / "ca.pem").write_text(der_to_pem(bytes(ca.certificate_der), "CERTIFICATE"))
    (directory / "index.txt").write_text("".join(index_lines))
    (directory / "crlnumber").write_text("1000\n")
    (directory / "ca.cnf").write_text(
        "[ca]\ndefault_ca = cardforge\n[cardforge]\ndir = .\ndatabase = index.txt\n"
        "crlnumber = crlnumber\ncertificate = ca.pem\nprivate_key = ca.key\ndefault_md = sha256\n"
        "default_crl_hours = 24\ncrl_extensions = crl_ext\n"
        "[crl_ext]\nauthorityKeyIdentifier = keyid:always\n"
    )
    openssl_times = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(
            ["openssl", "ca", "-config", "ca.cnf", "-gencrl", "-out", "crl.pem", "-batch"],
            cwd=directory,
            check=False,
            capture_output=True,
        )
        if done.returncode:
            raise RuntimeError(done.stderr.decode())
        openssl_times.append(time.perf_counter() - started)
    listed = subprocess.run(
        ["openssl", "crl", "-in", "crl.pem", "-noout", "-text"],
        cwd=directory,
        check=True,
        capture_output=True,
    ).stdout.count(b"Serial Number:")
    shutil.rmtree(directory)
    service, openssl = statistics.median(service_times), statistics.median(openssl_times)
    return [
        (
            f"CRL, {entries:,} entries",
            f"crl_generate {service:6.2f} s   openssl ca -gencrl {openssl:6.2f} s "
            f"({listed:,} listed)   ratio {service / openssl:.2f} (median of {runs})",
        ),
        ("  CRL size", f"{len(bytes(crl.der)):,} bytes DER"),
        ("  cryptography's CRL builder", f"{builder_time:6.2f} s (same entries, no database)"),
    ]


# --- 3. OCSP ---------------------------------------------------------------------------------


def _ocsp_requests(certificates, ca, *, nonce: bool) -> list[bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509 import ocsp

    issuer = x509.load_der_x509_certificate(bytes(ca.certificate_der))
    requests = []
    for row in certificates:
        builder = ocsp.OCSPRequestBuilder().add_certificate(
            x509.load_der_x509_certificate(bytes(row.der)), issuer, hashes.SHA1()
        )
        if nonce:
            builder = builder.add_extension(x509.OCSPNonce(secrets.token_bytes(16)), False)
        requests.append(builder.build().public_bytes(serialization.Encoding.DER))
    return requests


def _service_loop(slug: str, requests: list[bytes], seconds: float) -> int:
    from pki.services.ocsp import ocsp_respond

    done = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for body in requests[:100]:
            ocsp_respond(ca_slug=slug, request_der=body)
        done += min(100, len(requests))
        requests = requests[100:] + requests[:100]
    return done


def _wsgi_loop(
    path: str, requests: list[bytes], seconds: float, queue, conn_max_age: int | None
) -> None:
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connections

    connections.close_all()  # each process opens its own connection after the fork
    if conn_max_age is not None:
        connections["default"].settings_dict["CONN_MAX_AGE"] = conn_max_age
    application = WSGIHandler()
    cpu_started = time.process_time()

    def start_response(status, headers, exc_info=None):
        if not status.startswith("200"):
            raise RuntimeError(status)

    done = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for body in requests[:50]:
            environ = {
                "REQUEST_METHOD": "POST",
                "PATH_INFO": path,
                "SCRIPT_NAME": "",
                "QUERY_STRING": "",
                "CONTENT_TYPE": "application/ocsp-request",
                "CONTENT_LENGTH": str(len(body)),
                "SERVER_NAME": "localhost",
                "SERVER_PORT": "80",
                "SERVER_PROTOCOL": "HTTP/1.1",
                "REMOTE_ADDR": "127.0.0.1",
                "wsgi.input": io.BytesIO(body),
                "wsgi.url_scheme": "http",
                "wsgi.errors": sys.stderr,
                "wsgi.multithread": False,
                "wsgi.multiprocess": True,
                "wsgi.run_once": False,
                "wsgi.version": (1, 0),
            }
            response = application(environ, start_response)
            b"".join(response)
            response.close()
        done += min(50, len(requests))
        requests = requests[50:] + requests[:50]
    queue.put((done, time.process_time() - cpu_started))


def bench_ocsp(professional, ca, seconds: float, processes: int) -> list[tuple[str, str]]:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509 import ocsp
    from django.db import connections

    from pki.key_backends import key_backend
    from pki.models import Certificate, OcspResponder
    from pki.services.certificates import certificate_issue
    from pki.services.ocsp import ocsp_respond
    from pki.services.revocation import certificate_revoke

    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    issued = [
        certificate_issue(public_key=key, profile="hp-authentication", professional=professional)
        for _ in range(200)
    ]
    for row in issued[:20]:
        certificate_revoke(certificate=row, reason="keyCompromise")
    issued = list(Certificate.objects.filter(pk__in=[row.pk for row in issued]).order_by("pk"))
    plain = _ocsp_requests(issued, ca, nonce=False)
    with_nonce = _ocsp_requests(issued, ca, nonce=True)

    # Baseline: bare cryptography building and signing one response with the responder's key.
    responder = OcspResponder.objects.get(ca=ca, is_current=True)
    responder_certificate = x509.load_der_x509_certificate(bytes(responder.certificate.der))
    responder_key = key_backend(responder.key_backend)._load_private(responder.key_handle)
    issuer = x509.load_der_x509_certificate(bytes(ca.certificate_der))
    leaf = x509.load_der_x509_certificate(bytes(issued[-1].der))
    done, deadline = 0, time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        now = dt.datetime.now(dt.UTC)
        (
            ocsp.OCSPResponseBuilder()
            .add_response(
                leaf,
                issuer,
                __import__("cryptography.hazmat.primitives.hashes").hazmat.primitives.hashes.SHA1(),
                ocsp.OCSPCertStatus.GOOD,
                now,
                now + dt.timedelta(hours=1),
                None,
                None,
            )
            .responder_id(ocsp.OCSPResponderEncoding.HASH, responder_certificate)
            .certificates([responder_certificate])
            .sign(responder_key, ca_key_hash(responder_key))
        )
        done += 1
    baseline = done / (time.perf_counter() - started)

    lines = [("OCSP baseline", f"bare cryptography sign {baseline:10,.0f}/s (one process)")]
    for label, requests in (("no nonce (reused)", plain), ("nonce (signed)", with_nonce)):
        _service_loop(ca.slug, requests, 0.3)  # warm
        started = time.perf_counter()
        count = _service_loop(ca.slug, requests, seconds)
        elapsed = time.perf_counter() - started
        lines.append(
            (
                f"OCSP service, {label}",
                f"{rate(count, elapsed)} (one process, ratio to baseline "
                f"{count / elapsed / baseline:.2f})",
            )
        )

    connections.close_all()
    context = multiprocessing.get_context("fork")
    database = connections["default"]
    variants = [("", None)]
    if database.vendor == "sqlite" and not database.settings_dict.get("CONN_MAX_AGE"):
        # The project's SQLite settings reconnect on every request; show what reuse would give.
        variants.append((", CONN_MAX_AGE=60", 60))
    for suffix, conn_max_age in variants:
        for label, requests in (("no nonce", plain), ("nonce", with_nonce)):
            queue = context.Queue()
            workers = [
                context.Process(
                    target=_wsgi_loop,
                    args=(f"/pki/ocsp/{ca.slug}/", requests, seconds, queue, conn_max_age),
                )
                for _ in range(processes)
            ]
            started = time.perf_counter()
            for worker in workers:
                worker.start()
            results = [queue.get() for _ in workers]
            for worker in workers:
                worker.join()
            elapsed = time.perf_counter() - started
            total = sum(count for count, _ in results)
            cpu = sum(seconds_used for _, seconds_used in results)
            lines.append(
                (
                    f"OCSP over WSGI, {label}{suffix}",
                    f"{rate(total, elapsed)} wall ({processes} processes);  "
                    f"{total / cpu:,.0f} per CPU-second = {processes * total / cpu:,.0f}/s on "
                    f"{processes} free cores",
                )
            )

    # A revocation shows in the very next answer, cached responses notwithstanding.
    target = issued[-1]
    body = _ocsp_requests([target], ca, nonce=False)[0]
    before = ocsp.load_der_ocsp_response(ocsp_respond(ca_slug=ca.slug, request_der=body).der)
    certificate_revoke(certificate=target, reason="keyCompromise")
    after = ocsp.load_der_ocsp_response(ocsp_respond(ca_slug=ca.slug, request_der=body).der)
    lines.append(
        (
            "OCSP revocation visible",
            f"{before.certificate_status.name.lower()} -> "
            f"{after.certificate_status.name.lower()} in the next response",
        )
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--certificates", type=int, default=300)
    parser.add_argument("--crl-entries", type=int, default=100_000)
    parser.add_argument("--crl-runs", type=int, default=3)
    parser.add_argument("--ocsp-seconds", type=float, default=3.0)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 2)
    parser.add_argument(
        "--database-url",
        help="a database for the benchmark alone, flushed first (default: a fresh SQLite file "
        "in a temporary directory)",
    )
    args = parser.parse_args()
    work = configure(args.database_url)
    try:
        from django.db import connection

        from issuance.models import Professional
        from pki.models import CertificateAuthority
        from pki.services.cas import pki_bootstrap

        pki_bootstrap(backend="software")
        professional = Professional.objects.create(
            rpps="10003456789",
            last_name="Lefèvre",
            first_name="Hélène",
            profession=10,
            email="helene@example.org",
        )
        ca = CertificateAuthority.objects.get(slug="authentication")
        print(
            f"# CardForge PKI benchmark — {connection.vendor}, {os.cpu_count()} CPUs, "
            f"CA {ca.slug} ({ca.key_algorithm}, {ca.key_backend} backend)"
        )
        results = []
        results += bench_issuance(args.certificates, professional, ca)
        results += bench_ocsp(professional, ca, args.ocsp_seconds, args.processes)
        results += bench_crl(args.crl_entries, professional, ca, work, args.crl_runs)
        width = max(len(name) for name, _ in results)
        for name, figure in results:
            print(f"{name:<{width}}  {figure}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
