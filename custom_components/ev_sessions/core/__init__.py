"""Session engine and storage: plain typed Python, no Home Assistant import.

* :mod:`.model` - sessions, profile points, anomalies, settings, the live connector view;
* :mod:`.energy` - exact meter accounting and the lifetime counter;
* :mod:`.profile` - power-profile compaction and its stored form;
* :mod:`.estimate` - the live end-of-charging estimate;
* :mod:`.stats` - occupancy and demand figures;
* :mod:`.storage` - the SQLAlchemy database with versioned migrations;
* :mod:`.engine` - the :class:`SessionEngine` tying them together.
"""

from .engine import SessionEngine
from .model import (
    Anomaly,
    AnomalyKind,
    ConnectorView,
    EngineSettings,
    ProfilePoint,
    Session,
    SessionEvent,
    SessionEventKind,
    SpeedClass,
    Target,
)
from .stats import OccupancyStats
from .storage import SessionStore, StorageError

__all__ = [
    "Anomaly",
    "AnomalyKind",
    "ConnectorView",
    "EngineSettings",
    "OccupancyStats",
    "ProfilePoint",
    "Session",
    "SessionEngine",
    "SessionEvent",
    "SessionEventKind",
    "SessionStore",
    "SpeedClass",
    "StorageError",
    "Target",
]
