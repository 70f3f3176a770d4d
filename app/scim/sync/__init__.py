"""Sync group memberships to a SCIM service provider: read, plan (through the core), execute.

state = read_server_state(client, users, mapping, settings)
plan = plan_sync(users, mapping, state, settings)   # app.core.engine.evaluate inside
result = execute(client, plan, settings, progress, cancelled, log)

The modules of this package: `state` reads the server, `plan` decides the changes, `execute`
with `write_groups`, `write_attribute` and `verify` writes and checks them, `record` and
`result` keep the journal and the outcome, `undo`, `retry` and `planfile` build on them.
"""

from app.scim.config.settings import SyncProgress, SyncSettings
from app.scim.http.errors import SyncCancelled
from app.scim.sync.executor import execute
from app.scim.sync.plan import Drift, MassRemovalError, SyncPlan, plan_sync
from app.scim.sync.result import FailedOperation, SyncResult
from app.scim.sync.retry import retry_failed
from app.scim.sync.state import ServerGroup, ServerState, read_server_state

__all__ = [
    "Drift",
    "FailedOperation",
    "MassRemovalError",
    "ServerGroup",
    "ServerState",
    "SyncCancelled",
    "SyncPlan",
    "SyncProgress",
    "SyncResult",
    "SyncSettings",
    "execute",
    "plan_sync",
    "read_server_state",
    "retry_failed",
]
