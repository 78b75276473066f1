"""The hub options' database URL: shown without its password, checked before it is saved.

Empty means the SQLite file in HA's configuration folder (as before). A URL is saved only after
the database answered: the store opens it (creating the tables, or upgrading an older schema
of this integration) and commits a write, exactly what the hub does when it starts. A password
is shown as ``***``; a URL sent back with ``***`` keeps the stored password.
"""

from __future__ import annotations

import logging

from .core import SessionStore, StorageError, StorageFault
from .core.storage.urls import MASK, backend_of, password_of, redact_url, with_password

_LOGGER = logging.getLogger(__name__)

#: The databases a URL may name (MariaDB / MySQL are ``mysql`` / ``mariadb`` to SQLAlchemy).
SUPPORTED_BACKENDS = frozenset({"sqlite", "postgresql", "mysql", "mariadb"})

#: The flow's error key for a storage fault.
_FLOW_ERRORS = {
    StorageFault.AUTH: "db_auth_failed",
    StorageFault.NEWER_SCHEMA: "db_newer_schema",
    StorageFault.READ_ONLY: "db_not_writable",
    StorageFault.FULL: "db_not_writable",
}


def shown_url(stored: str | None) -> str:
    """The stored URL as the form shows it (password masked; empty for the default)."""
    return redact_url(stored) if stored else ""


def typed_url(typed: str | None, stored: str | None) -> str:
    """The URL the user means: stripped, with the stored password back in place of ``***``."""
    url = (typed or "").strip()
    if not url or not stored or password_of(url) != MASK:
        return url
    try:
        return with_password(url, password_of(stored))
    except ValueError:
        return url


async def async_check_database(url: str) -> str | None:
    """``None`` when the hub can use the database at ``url``; else the flow's error key."""
    try:
        backend = backend_of(url)
    except ValueError:
        return "db_invalid_url"
    if backend not in SUPPORTED_BACKENDS:
        return "db_invalid_url"
    store = SessionStore(url)
    try:
        await store.async_open()
        await store.async_check_writable()
    except StorageError as err:
        _LOGGER.warning("Database %s cannot be used: %s", redact_url(url), err)
        return _FLOW_ERRORS.get(err.fault, "db_cannot_connect")
    finally:
        await store.async_close()
    return None
