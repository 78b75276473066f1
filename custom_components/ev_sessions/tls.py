"""TLS for the OCPP server (security profile 2): certificate files become an SSL context."""

from __future__ import annotations

from pathlib import Path
import ssl

from .const import CONF_SSL_CERTFILE, CONF_SSL_KEYFILE


class TlsConfigError(Exception):
    """The certificate or key cannot be used; ``field`` and ``reason`` name it for the form."""

    def __init__(self, field: str, reason: str) -> None:
        """Remember which form field is wrong and why (a translation key)."""
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def build_ssl_context(certfile: str, keyfile: str) -> ssl.SSLContext | None:
    """Return a server SSL context, or ``None`` when no certificate is configured.

    Blocking (reads files): call it in an executor.
    """
    if not certfile and not keyfile:
        return None
    if not certfile or not Path(certfile).is_file():
        raise TlsConfigError(CONF_SSL_CERTFILE, "file_not_found")
    if keyfile and not Path(keyfile).is_file():
        raise TlsConfigError(CONF_SSL_KEYFILE, "file_not_found")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(certfile, keyfile or None)
    except (ssl.SSLError, ValueError) as err:
        raise TlsConfigError(CONF_SSL_CERTFILE, "invalid_certificate") from err
    return context
