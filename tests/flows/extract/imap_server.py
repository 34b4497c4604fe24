"""A real IMAP server on loopback for the mailbox tests: pymap (PyPI) with its in-memory backend.

pymap (https://github.com/icgood/pymap) is an IMAP4rev1 server (RFC 3501) written in Python; its
``dict`` backend keeps every mailbox in memory and has one login, ``--demo-user`` /
``--demo-password``. It runs here as ``pymap --host 127.0.0.1 --port N --no-tls --no-service admin
dict`` in a subprocess (``--no-tls``: no STARTTLS, so LOGIN is accepted in the clear on loopback;
``--no-service admin``: no gRPC admin port). UIDs start at 101 in a new folder; a folder that is
deleted and created again gets another UIDVALIDITY, as RFC 3501 §2.3.1.1 requires.
"""

import datetime
import imaplib
import ipaddress
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

START_TIMEOUT_SECONDS = 30

# pymap hashes the login's password with PBKDF2 at 500,000 rounds (pysasl's BuiltinHash, as passlib
# is not installed): half a second per login on a busy machine. The test server's own password
# needs none of that; 1,000 rounds keep the same code path.
_LAUNCH = """
import pymap.config
from pysasl.hashing import BuiltinHash
pymap.config.BuiltinHash = lambda: BuiltinHash(rounds=1000)
from pymap.main import main
main()
"""


@dataclass(frozen=True)
class ImapServer:
    host: str
    port: int
    user: str
    password: str
    ca_file: Path | None = None  # set: the server offers STARTTLS with this self-signed certificate

    def url(self, folder: str, scheme: str = "imap") -> str:
        return f"{scheme}://{self.user}@{self.host}:{self.port}/{folder}"

    @contextmanager
    def session(self) -> Iterator[imaplib.IMAP4]:
        imap = imaplib.IMAP4(self.host, self.port, timeout=10)
        if self.ca_file is not None:
            imap.starttls(ssl_context=ssl.create_default_context(cafile=str(self.ca_file)))
        imap.login(self.user, self.password)
        try:
            yield imap
        finally:
            imap.logout()

    def append(self, folder: str, *messages: bytes) -> None:
        """Put ``messages`` into ``folder`` (created when missing) with IMAP APPEND."""
        with self.session() as imap:
            if folder != "INBOX":
                imap.create(folder)  # NO when it exists: fine
            for message in messages:
                status, detail = imap.append(folder, None, None, message)
                assert status == "OK", detail

    def recreate(self, folder: str) -> None:
        """Delete ``folder`` and create it again, empty: its UIDVALIDITY changes."""
        with self.session() as imap:
            assert imap.delete(folder)[0] == "OK"
            assert imap.create(folder)[0] == "OK"

    def flags(self, folder: str) -> list[bytes]:
        with self.session() as imap:
            imap.select(folder, readonly=True)
            status, data = imap.uid("FETCH", "1:*", "(FLAGS)")
            assert status == "OK"
            return [line for line in data if isinstance(line, bytes)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def pymap_server(user: str, password: str, certificate: tuple[Path, Path] | None = None) -> Iterator[ImapServer]:
    """Start pymap on a free loopback port, wait until it answers, stop it at the end.

    ``certificate`` (cert file, key file): the server offers STARTTLS and refuses LOGIN before it
    (LOGINDISABLED); without it, plain LOGIN is accepted.
    """
    port = free_port()
    tls = ["--cert", str(certificate[0]), "--key", str(certificate[1])] if certificate else ["--no-tls"]
    command = [
        sys.executable,
        "-c",
        _LAUNCH,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *tls,
        "--no-service",
        "admin",
        "dict",
        "--demo-user",
        user,
        "--demo-password",
        password,
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    server = ImapServer("127.0.0.1", port, user, password, certificate[0] if certificate else None)
    try:
        _wait_until_ready(server, process)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()


def _wait_until_ready(server: ImapServer, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            error = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise RuntimeError(f"pymap exited with {process.returncode}: {error[-2000:]}")
        try:
            imaplib.IMAP4(server.host, server.port, timeout=5).logout()  # the greeting: it listens
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"pymap did not answer on 127.0.0.1:{server.port} within {START_TIMEOUT_SECONDS} s")


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """(cert.pem, key.pem) for 127.0.0.1, self-signed: the client trusts it as its CA file."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "otklik test IMAP")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file
