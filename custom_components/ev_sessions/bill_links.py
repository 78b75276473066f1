"""Signed links to bill and report pages that open without a login for 60 days, across restarts.

Home Assistant's own signed paths (``authSig``) are signed with a secret made in memory at each
start, so a link sent in a notification stopped working at the next restart. These links carry
``expires`` (Unix seconds) and ``token``: HMAC-SHA256 of the path, its other query parameters
and the expiry, with a random key kept in Home Assistant's storage (``.storage/``,
:data:`STORAGE_KEY`), compared in constant time. A link opens only the page it was made for
(a bill's page opens that bill only), until it expires.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
import hashlib
import hmac
import secrets
from typing import Any
from urllib.parse import urlencode

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey
from yarl import URL

from .const import DOMAIN

#: Where the key is kept (``.storage/ev_sessions.bill_links``).
STORAGE_KEY = f"{DOMAIN}.bill_links"
STORAGE_VERSION = 1
#: The query parameters of a signed link.
PARAM_EXPIRES = "expires"
PARAM_TOKEN = "token"  # noqa: S105 - a query parameter name
#: Where the loaded signer is held in ``hass.data``.
DATA_SIGNER: HassKey[LinkSigner] = HassKey(f"{DOMAIN}_bill_links")


@dataclass(frozen=True, slots=True)
class LinkSigner:
    """Signs and checks links with one key."""

    key: bytes

    def _mac(self, path: str, params: Iterable[tuple[str, str]], expires: int) -> str:
        message = f"{path}\n{urlencode(list(params))}\n{expires}".encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()

    def sign(self, target: str, validity: timedelta) -> str:
        """``target`` (a path, optionally with a query) with an expiry and a token."""
        url = URL(target)
        expires = int(dt_util.utcnow().timestamp() + validity.total_seconds())
        params = [(k, v) for k, v in url.query.items() if k not in (PARAM_EXPIRES, PARAM_TOKEN)]
        token = self._mac(url.path, params, expires)
        signed = url.with_query([*params, (PARAM_EXPIRES, str(expires)), (PARAM_TOKEN, token)])
        return f"{signed.path}?{signed.query_string}"

    def valid(self, path: str, query: Iterable[tuple[str, str]]) -> bool:
        """Whether a request for ``path`` with ``query`` carries a token made by this key for
        exactly that path and query that has not expired."""
        items = list(query)
        found = dict(items)
        token, expires = found.get(PARAM_TOKEN), found.get(PARAM_EXPIRES)
        if not token or not expires or not expires.isdigit():
            return False
        if int(expires) < dt_util.utcnow().timestamp():
            return False
        params = [(k, v) for k, v in items if k not in (PARAM_EXPIRES, PARAM_TOKEN)]
        return hmac.compare_digest(self._mac(path, params, int(expires)), token)


async def async_load_signer(hass: HomeAssistant) -> LinkSigner:
    """The link signer, its key read from storage (made and saved the first time)."""
    if (signer := hass.data.get(DATA_SIGNER)) is not None:
        return signer
    store: Store[dict[str, Any]] = Store(hass, STORAGE_VERSION, STORAGE_KEY, private=True)
    data = await store.async_load() or {}
    key = _key(data.get("key"))
    if key is None:
        key = secrets.token_bytes(32)
        await store.async_save({"key": key.hex()})
    return hass.data.setdefault(DATA_SIGNER, LinkSigner(key))


def _key(stored: object) -> bytes | None:
    """The stored key (hex, 32 bytes), ``None`` when there is none usable."""
    try:
        key = bytes.fromhex(stored) if isinstance(stored, str) else None
    except ValueError:
        return None
    return key if key is not None and len(key) >= 32 else None


def link_signer(hass: HomeAssistant) -> LinkSigner:
    """The signer loaded by :func:`async_load_signer` (at the hub's setup)."""
    if (signer := hass.data.get(DATA_SIGNER)) is None:
        raise RuntimeError("bill link key not loaded")
    return signer


__all__ = [
    "DATA_SIGNER",
    "PARAM_EXPIRES",
    "PARAM_TOKEN",
    "STORAGE_KEY",
    "LinkSigner",
    "async_load_signer",
    "link_signer",
]
