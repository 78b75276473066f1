"""Session engine and storage: plain typed Python, no Home Assistant import.

* :mod:`.model` - sessions, profile points, anomalies, settings, the live connector view;
* :mod:`.energy` - exact meter accounting and the lifetime counter;
* :mod:`.power_profile` - power-profile compaction and its stored form;
* :mod:`.estimate` - the live end-of-charging estimate;
* :mod:`.stats` - occupancy and demand figures;
* :mod:`.storage` - the SQLAlchemy database with versioned migrations;
* :mod:`.engine` - the :class:`SessionEngine` tying them together;
* :mod:`.members` - household members, their id tags and the :class:`MemberDirectory`;
* :mod:`.charger_policy` - who may charge at a charger: policies and decisions on tags;
* :mod:`.learn_mode` - learn mode: the next tag at a charger is taken for a member;
* :mod:`.local_lists` - the chargers' local authorization lists and their versions;
* :mod:`.access` - :class:`AccessControl`: policy, remote starts, learn mode and audit together;
* :mod:`.audit` - the audit log of decisions and re-attributions.
"""

from .access import REMOTE_START_WINDOW, AccessControl, Outcome
from .audit import AuditEntry, AuditLog, AuditSource, SessionNotFoundError, async_reattribute
from .charger_policy import (
    GUEST_MEMBER_ID,
    AuthorizationMode,
    AuthorizationPolicy,
    Authorizer,
    Decision,
    DecisionReason,
    policy_change_needs_cache_clear,
)
from .engine import SessionEngine
from .learn_mode import LearnedTag, LearnMode, LearnWindow
from .local_lists import (
    LocalListPlan,
    LocalListRecord,
    LocalListState,
    entries_from_json,
    entries_hash,
    entries_to_json,
)
from .members import (
    MAX_ID_TAG_LENGTH,
    MAX_ID_TOKEN_LENGTH,
    IdTag,
    ListDiff,
    Member,
    MemberConfigError,
    MemberDirectory,
    TagMatch,
    TagStatus,
    diff_entries,
    normalize_tag,
    shorten_tag,
)
from .model import (
    Anomaly,
    AnomalyKind,
    ConnectorView,
    EngineSettings,
    ProfilePoint,
    QuarantinedRow,
    Session,
    SessionEvent,
    SessionEventKind,
    SpeedClass,
    StorageStatus,
    Target,
)
from .stats import MemberTotals, OccupancyStats, member_totals
from .storage import SessionStore, StorageError, StorageFault

__all__ = [
    "GUEST_MEMBER_ID",
    "MAX_ID_TAG_LENGTH",
    "MAX_ID_TOKEN_LENGTH",
    "REMOTE_START_WINDOW",
    "AccessControl",
    "Anomaly",
    "AnomalyKind",
    "AuditEntry",
    "AuditLog",
    "AuditSource",
    "AuthorizationMode",
    "AuthorizationPolicy",
    "Authorizer",
    "ConnectorView",
    "Decision",
    "DecisionReason",
    "EngineSettings",
    "IdTag",
    "LearnMode",
    "LearnWindow",
    "LearnedTag",
    "ListDiff",
    "LocalListPlan",
    "LocalListRecord",
    "LocalListState",
    "Member",
    "MemberConfigError",
    "MemberDirectory",
    "MemberTotals",
    "OccupancyStats",
    "Outcome",
    "ProfilePoint",
    "QuarantinedRow",
    "Session",
    "SessionEngine",
    "SessionEvent",
    "SessionEventKind",
    "SessionNotFoundError",
    "SessionStore",
    "SpeedClass",
    "StorageError",
    "StorageFault",
    "StorageStatus",
    "TagMatch",
    "TagStatus",
    "Target",
    "async_reattribute",
    "diff_entries",
    "entries_from_json",
    "entries_hash",
    "entries_to_json",
    "member_totals",
    "normalize_tag",
    "policy_change_needs_cache_clear",
    "shorten_tag",
]
