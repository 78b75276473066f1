"""Database URLs: which database a URL names, and the URL and messages without its password.

The session database is named by a SQLAlchemy URL: ``sqlite:///<path>`` (the default, a file in
HA's config directory), ``postgresql+psycopg://user:password@host:5432/db`` or
``mysql+pymysql://user:password@host:3306/db?charset=utf8mb4`` (MariaDB and MySQL). The password
in it must never reach a log, a diagnostics download or an error shown in the UI:
:func:`redact_url` and :func:`scrub` take it out.
"""

from __future__ import annotations

import re
from urllib.parse import quote_plus, unquote

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

#: What a password is replaced with.
MASK = "***"


def parse_url(url: str) -> URL:
    """The URL parsed; ``ValueError`` (without the password) when it is not a database URL."""
    try:
        return make_url(url.strip())
    except (ArgumentError, ValueError) as err:
        raise ValueError(f"not a database URL: {redact_url(url)}") from err


#: A password given as a query parameter (``?password=...``, which drivers accept too).
_QUERY_PASSWORD = re.compile(r"(?i)([?&](?:password|passwd|pwd)=)[^&#\s]*")


def redact_url(url: str) -> str:
    """The URL with its password replaced by ``***``: in the user info (up to the last ``@``
    before the path, so an unencoded ``@`` in a password hides all of it) and in the query;
    a URL that does not parse, too."""
    text = url.strip()
    scheme, sep, rest = text.partition("://")
    if sep:
        authority, slash, tail = rest.partition("/")
        if "@" in authority:
            userinfo, _, host = authority.rpartition("@")
            if ":" in userinfo:
                userinfo = f"{userinfo.split(':', 1)[0]}:{MASK}"
            text = f"{scheme}://{userinfo}@{host}{slash}{tail}"
    return _QUERY_PASSWORD.sub(rf"\g<1>{MASK}", text)


def password_of(url: str) -> str | None:
    """The URL's password, if it has one (in the user info, up to the last ``@`` before the
    path, else as a query parameter)."""
    _, sep, rest = url.strip().partition("://")
    userinfo = rest.partition("/")[0].rpartition("@")[0] if sep else ""
    if ":" in userinfo:
        return unquote(userinfo.split(":", 1)[1]) or None
    try:
        parsed = make_url(url.strip())
    except (ArgumentError, ValueError):
        return None
    for key, value in parsed.query.items():
        if key.lower() in {"password", "passwd", "pwd"}:
            return str(value if isinstance(value, str) else value[0]) or None
    return None


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
