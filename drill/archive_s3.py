"""The drill's WAL archive: S3 as pgBackRest on the nodes sees it, a second moto server.

pgBackRest's S3 client speaks TLS only, so this one serves HTTPS, with path-style addressing and a
certificate for `localhost` (pgBackRest 2.45 matches the host against the certificate's DNS
names, not its IP addresses). Werkzeug closes each connection without TLS's close_notify, which
OpenSSL 3 reports to pgBackRest as an unexpected EOF, failing the request: the server here sends
it (`serve`). The nodes reach it through pgBackRest's own variables (`PGBACKREST_REPO1_*`), which
override the config each node wrote; nothing else is a seam.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import shutil
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import boto3  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from drill import emulator

BUCKET = "multitier-drill-db-archive"
HOST = "localhost"


def client() -> object:
    """The archive's S3, for the drill itself (once `archive_server` runs)."""
    return boto3.client(
        "s3",
        endpoint_url=f"https://{HOST}:{os.environ['PGBACKREST_REPO1_STORAGE_PORT']}",
        region_name=emulator.REGION,
        verify=os.environ["PGBACKREST_REPO1_STORAGE_CA_FILE"],
    )


def serve(argv: Sequence[str]) -> None:
    """moto's server, whose TLS connections end with close_notify."""
    from drill.hosts import die_with_parent  # noqa: PLC0415 (in the server's process only)

    die_with_parent()
    import moto.server  # noqa: PLC0415

    class Handler(moto.server.MotoRequestHandler):  # type: ignore[misc,name-defined]
        def finish(self) -> None:
            super().finish()
            with contextlib.suppress(OSError, ValueError):
                self.connection.settimeout(0.0)  # send it, do not wait for the client's
                self.connection.unwrap()

    moto.server.MotoRequestHandler = Handler  # type: ignore[attr-defined]
    moto.server.main(list(argv))


@dataclass(frozen=True)
class ArchiveServer:
    port: int
    ca_file: Path

    def s3(self) -> object:
        return boto3.client(
            "s3",
            endpoint_url=f"https://{HOST}:{self.port}",
            region_name=emulator.REGION,
            verify=str(self.ca_file),
        )


@contextlib.contextmanager
def archive_server(root: Path) -> Iterator[ArchiveServer]:
    """The archive's S3, with the bucket; pgBackRest on the nodes pointed at it."""
    if shutil.which("pgbackrest") is None:
        raise FileNotFoundError(
            "pgBackRest was not found: the drill's nodes archive with it; install the Debian "
            "package `pgbackrest` (apt-get install pgbackrest), which .ci/run does"
        )
    directory = root / "archive-tls"
    directory.mkdir()
    directory.chmod(0o755)
    ca, certificate, key = _certificates()
    for name, text in (("ca.pem", ca), ("server.pem", certificate), ("server.key", key)):
        (directory / name).write_text(text)
        (directory / name).chmod(0o644 if name != "server.key" else 0o600)
    port = emulator.free_port()
    with (root / "archive-s3.log").open("ab") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys; from drill.archive_s3 import serve; serve(sys.argv[1:])",
                *("-H", "127.0.0.1", "-p", str(port)),
                *("-c", str(directory / "server.pem"), "-k", str(directory / "server.key")),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    found = ArchiveServer(port, directory / "ca.pem")
    try:
        _wait_until_up(found, server)
        found.s3().create_bucket(  # type: ignore[attr-defined]
            Bucket=BUCKET,
            CreateBucketConfiguration={"LocationConstraint": emulator.REGION},
        )
        os.environ.update(
            PGBACKREST_REPO1_S3_ENDPOINT=HOST,
            PGBACKREST_REPO1_STORAGE_PORT=str(port),
            PGBACKREST_REPO1_STORAGE_CA_FILE=str(found.ca_file),
            PGBACKREST_REPO1_S3_URI_STYLE="path",
            PGBACKREST_REPO1_S3_KEY_TYPE="shared",
            PGBACKREST_REPO1_S3_KEY="drill",
            PGBACKREST_REPO1_S3_KEY_SECRET="drill",  # the emulator's, not a secret
        )
        yield found
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_until_up(found: ArchiveServer, server: subprocess.Popen[bytes]) -> None:
    context = ssl.create_default_context(cafile=str(found.ca_file))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the archive's S3 server exited at start: see archive-s3.log")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(
                f"https://{HOST}:{found.port}/moto-api/data.json", context=context, timeout=1
            ),
        ):
            return
        time.sleep(0.1)
    raise RuntimeError("the archive's S3 server did not answer within 30 s")


def _certificates() -> tuple[str, str, str]:
    """A CA, and a certificate for `localhost` (DNS name and loopback address) signed by it."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "drill archive CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(issuer)
        .issuer_name(issuer)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    names = [x509.DNSName(HOST), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return (
        ca.public_bytes(pem).decode(),
        certificate.public_bytes(pem).decode(),
        key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
    )
