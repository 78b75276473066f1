"""Database URLs: which database a URL names, and the URL and messages without its password.

The session database is named by a SQLAlchemy URL: ``sqlite:///<path>`` (the default, a file in
HA's config directory), ``postgresql+psycopg://user:password@host:5432/db`` or
``mysql+pymysql://user:password@host:3306/db?charset=utf8mb4`` (MariaDB and MySQL). The password
in it must never reach a log, a diagnostics download or an error shown in the UI:
:func:`redact_url` and :func:`scrub` take it out.
"""

from __future__ import annotations

import re
from urllib.parse import quote_plus

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

#: What a password is replaced with.
MASK = "***"

#: ``scheme://user:password@`` in a URL that does not parse.
_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*):(?P<password>[^@\s]*)@")


def parse_url(url: str) -> URL:
    """The URL parsed; ``ValueError`` (without the password) when it is not a database URL."""
    try:
        return make_url(url.strip())
    except (ArgumentError, ValueError) as err:
        raise ValueError(f"not a database URL: {redact_url(url)}") from err


def redact_url(url: str) -> str:
    """The URL with its password replaced by ``***`` (a URL that does not parse, too)."""
    try:
        return make_url(url.strip()).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return _USERINFO.sub(rf"\g<head>:{MASK}@", url)


def password_of(url: str) -> str | None:
    """The URL's password, if it has one."""
    try:
        password = make_url(url.strip()).password
    except (ArgumentError, ValueError):
        match = _USERINFO.search(url)
        return match.group("password") or None if match else None
    return None if password is None else str(password)


def scrub(text: str, url: str) -> str:
    """``text`` (an error message, a log line) without the URL's password, as typed or quoted."""
    password = password_of(url)
    if not password:
        return text
    for form in {password, quote_plus(password), quote_plus(password).replace("+", "%20")}:
        text = text.replace(form, MASK)
    return text


def with_password(url: str, password: str | None) -> str:
    """The URL with ``password`` (a URL shown redacted and sent back unchanged gets its own
    password again)."""
    return parse_url(url).set(password=password).render_as_string(hide_password=False)


def backend_of(url: str) -> str:
    """The database kind: ``sqlite``, ``postgresql``, ``mysql`` (MariaDB too), ..."""
    return parse_url(url).get_backend_name()
