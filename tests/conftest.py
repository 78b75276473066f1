"""Shared fixtures. Importing our package first lets HA find it instead of phcc's own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
import contextlib
from datetime import UTC, datetime, timedelta
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
import pytest

import custom_components.ev_sessions  # noqa: F401  (must come before HA looks up integrations)
from tests.databases import BACKENDS, fresh_database


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let HA load custom integrations in every test."""


@pytest.fixture(params=BACKENDS)
def db_backend(request: pytest.FixtureRequest) -> str:
    """The database backend: SQLite, then PostgreSQL and MariaDB when their servers are
    configured (``tests/databases.py``); every test that depends on it runs on each. PyMySQL
    talks to MariaDB through Python's sockets, which the test then may use."""
    if request.param == "mariadb":
        request.getfixturevalue("socket_enabled")
    return str(request.param)


@pytest.fixture
def new_db(db_backend: str, tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Makes fresh, empty databases on the backend (``new_db("name")``: its URL)."""
    with contextlib.ExitStack() as stack:

        def make(name: str = "ev") -> str:
            return stack.enter_context(fresh_database(db_backend, tmp_path, name))

        yield make


@pytest.fixture
def db_url(new_db: Callable[..., str]) -> str:
    """The URL of a fresh database on each backend (SQLite, PostgreSQL when configured)."""
    return new_db()


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[str, str]:
    """A self-signed certificate and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ev-sessions-test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)
