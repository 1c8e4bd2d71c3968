"""Parent side: worker handles, restart window, pools, the supervisor."""

from ._pool import PluginPool as PluginPool
from ._restart import RestartDecision as RestartDecision
from ._restart import decide_restart as decide_restart
from ._supervisor import Supervisor as Supervisor
from ._worker import WorkerHandle as WorkerHandle
from ._worker import WorkerState as WorkerState

__all__ = (
    "PluginPool",
    "RestartDecision",
    "Supervisor",
    "WorkerHandle",
    "WorkerState",
    "decide_restart",
)
