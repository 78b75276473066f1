"""Session engine and storage: plain typed Python, no Home Assistant import.

* :mod:`.model` - sessions, profile points, anomalies, settings, the live connector view;
* :mod:`.energy` - exact meter accounting and the lifetime counter;
* :mod:`.power_profile` - power-profile compaction and its stored form;
* :mod:`.estimate` - the live end-of-charging estimate;
* :mod:`.stats` - occupancy and demand figures;
* :mod:`.storage` - the SQLAlchemy database (a package, one module per table) with versioned
  migrations;
* :mod:`.engine` - the :class:`SessionEngine` tying them together;
* :mod:`.members` - household members, their id tags and the :class:`MemberDirectory`;
* :mod:`.charger_policy` - who may charge at a charger: policies and decisions on tags;
* :mod:`.learn_mode` - learn mode: the next tag at a charger is taken for a member;
* :mod:`.local_lists` - the chargers' local authorization lists and their versions;
* :mod:`.access` - :class:`AccessControl`: policy, remote starts, learn mode and audit together;
* :mod:`.audit` - the audit log of decisions and re-attributions;
* :mod:`.listeners` - typed listeners, the one way to subscribe to changes;
* :mod:`.ports` - what the charging site needs from Home Assistant (protocols the glue implements);
* :mod:`.site` - :class:`ChargingSite`: the adapters' event sink and command router, owning the
  engine, access control, local lists and attribution.
"""

from .access import LEARNED_TAG_GRACE, REMOTE_START_WINDOW, AccessControl, Outcome
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
from .energy import ConnectorMeter, LifetimeCounter, Reading
from .engine import SessionEngine
from .estimate import PowerSample, estimate_end, remaining_energy_wh, seconds_to_deliver
from .learn_mode import LearnedTag, LearnMode, LearnWindow
from .listeners import KeyedListeners, Listeners, Remove
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
    COUNTED_ANOMALIES,
    MAX_ANOMALIES,
    Anomaly,
    AnomalyKind,
    ChargeTracking,
    ConnectorView,
    EngineSettings,
    Phases,
    ProfilePoint,
    QuarantinedRow,
    Session,
    SessionEvent,
    SessionEventKind,
    SpeedClass,
    StorageStatus,
    Target,
    as_utc,
    from_iso,
    to_iso,
    utcnow,
)
from .ports import (
    IDENTITY_FIELDS,
    AdmissionGate,
    ChargerAccess,
    ChargerDiscovery,
    ChargerSettings,
    ChargerSettingsStore,
    Clock,
    MemberStore,
    SendCommand,
    SiteNotices,
    identity_mismatch,
    identity_of,
)
from .power_profile import append_point, pack_profile, unpack_profile
from .site import (
    GENERATED_PASSWORD_BYTES,
    OCPP16_MAX_TAG,
    ChargerLink,
    ChargingSite,
    SiteSettings,
    remote_id_tag,
)
from .stats import MemberTotals, OccupancyStats, compute_stats, member_totals
from .storage import (
    SCHEMA_VERSION,
    LifetimeRecord,
    QuarantineRecord,
    RowFailure,
    SessionPatch,
    SessionStore,
    StorageError,
    StorageFault,
    fault_of,
)

__all__ = [
    "COUNTED_ANOMALIES",
    "GENERATED_PASSWORD_BYTES",
    "GUEST_MEMBER_ID",
    "IDENTITY_FIELDS",
    "LEARNED_TAG_GRACE",
    "MAX_ANOMALIES",
    "MAX_ID_TAG_LENGTH",
    "MAX_ID_TOKEN_LENGTH",
    "OCPP16_MAX_TAG",
    "REMOTE_START_WINDOW",
    "SCHEMA_VERSION",
    "AccessControl",
    "AdmissionGate",
    "Anomaly",
    "AnomalyKind",
    "AuditEntry",
    "AuditLog",
    "AuditSource",
    "AuthorizationMode",
    "AuthorizationPolicy",
    "Authorizer",
    "ChargeTracking",
    "ChargerAccess",
    "ChargerDiscovery",
    "ChargerLink",
    "ChargerSettings",
    "ChargerSettingsStore",
    "ChargingSite",
    "Clock",
    "ConnectorMeter",
    "ConnectorView",
    "Decision",
    "DecisionReason",
    "EngineSettings",
    "IdTag",
    "KeyedListeners",
    "LearnMode",
    "LearnWindow",
    "LearnedTag",
    "LifetimeCounter",
    "LifetimeRecord",
    "ListDiff",
    "Listeners",
    "LocalListPlan",
    "LocalListRecord",
    "LocalListState",
    "Member",
    "MemberConfigError",
    "MemberDirectory",
    "MemberStore",
    "MemberTotals",
    "OccupancyStats",
    "Outcome",
    "Phases",
    "PowerSample",
    "ProfilePoint",
    "QuarantineRecord",
    "QuarantinedRow",
    "Reading",
    "Remove",
    "RowFailure",
    "SendCommand",
    "Session",
    "SessionEngine",
    "SessionEvent",
    "SessionEventKind",
    "SessionNotFoundError",
    "SessionPatch",
    "SessionStore",
    "SiteNotices",
    "SiteSettings",
    "SpeedClass",
    "StorageError",
    "StorageFault",
    "StorageStatus",
    "TagMatch",
    "TagStatus",
    "Target",
    "append_point",
    "as_utc",
    "async_reattribute",
    "compute_stats",
    "diff_entries",
    "entries_from_json",
    "entries_hash",
    "entries_to_json",
    "estimate_end",
    "fault_of",
    "from_iso",
    "identity_mismatch",
    "identity_of",
    "member_totals",
    "normalize_tag",
    "pack_profile",
    "policy_change_needs_cache_clear",
    "remaining_energy_wh",
    "remote_id_tag",
    "seconds_to_deliver",
    "shorten_tag",
    "to_iso",
    "unpack_profile",
    "utcnow",
]
