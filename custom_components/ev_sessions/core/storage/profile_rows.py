"""The ``profile_chunks`` table: a session's power profile, appended chunk by chunk.

Each flush appends one row per session with the profile points added since the previous one
(``seq`` is the index of the chunk's first point), in the compact form of
:mod:`..power_profile`. The last point stays in the session row: compaction may still replace
it (:func:`..power_profile.append_point` only ever replaces the last point), so a stored chunk
never changes while the session is open. Once it has ended its chunks are merged into one, once
(a chunk per minute costs ~100 bytes of framing). Reading a session joins its chunks and the
point of its row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, insert, select

from custom_components.ev_sessions.core.model import ProfilePoint
from custom_components.ev_sessions.core.power_profile import pack_profile, unpack_profile

from .bulk import delete_from
from .schema import profile_chunks_table

#: Sessions per ``IN (...)`` query.
_BATCH = 500


def write_chunks(
    conn: Connection,
    chunks: Sequence[tuple[str, int, Sequence[ProfilePoint]]],
    clean: Sequence[tuple[str, int]] = (),
) -> None:
    """Store ``(session id, first point, points)`` chunks, one statement for all.

    ``clean`` (session id, first point): that session's chunks from that point on are deleted
    first: when a session's chunks are merged, and when what is stored is not known exactly (a
    write whose success the engine never learned of), so writing again is harmless.
    """
    delete_from(conn, profile_chunks_table, "session_id", "seq", clean)
    rows = [
        {"session_id": sid, "seq": first, "points": pack_profile(points)}
        for sid, first, points in chunks
        if points
    ]
    if rows:
        conn.execute(insert(profile_chunks_table), rows)


def load_chunks(
    conn: Connection, session_ids: Iterable[str]
) -> dict[str, tuple[list[ProfilePoint], int]]:
    """The profile points in each session's chunks (not the one of its row), and the chunks."""
    table = profile_chunks_table
    found: dict[str, tuple[list[ProfilePoint], int]] = {}
    ids = list(session_ids)
    for index in range(0, len(ids), _BATCH):
        stmt = (
            select(table.c.session_id, table.c.points)
            .where(table.c.session_id.in_(ids[index : index + _BATCH]))
            .order_by(table.c.session_id, table.c.seq)
        )
        for row in conn.execute(stmt):
            points, chunks = found.get(row.session_id, ([], 0))
            points.extend(unpack_profile(row.points))
            found[row.session_id] = (points, chunks + 1)
    return found
