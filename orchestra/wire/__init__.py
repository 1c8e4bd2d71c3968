"""Wire protocol between supervisor and workers: messages and framing."""

from ._byref import PayloadStore as PayloadStore
from ._check import LOG_LEVELS as LOG_LEVELS
from ._check import RESERVED_LOG_FIELDS as RESERVED_LOG_FIELDS
from ._check import check_from_worker as check_from_worker
from ._framing import DEFAULT_MAX_FRAME as DEFAULT_MAX_FRAME
from ._framing import FrameDecoder as FrameDecoder
from ._framing import encode as encode
from ._framing import encode_into as encode_into
from ._malloc import tune_malloc as tune_malloc
from ._messages import PROTOCOL_VERSION as PROTOCOL_VERSION
from ._messages import Call as Call
from ._messages import CallBatch as CallBatch
from ._messages import CallFailed as CallFailed
from ._messages import Heartbeat as Heartbeat
from ._messages import Init as Init
from ._messages import InitFailed as InitFailed
from ._messages import Log as Log
from ._messages import Message as Message
from ._messages import Ready as Ready
from ._messages import Release as Release
from ._messages import Result as Result
from ._messages import Results as Results
from ._messages import RouteCall as RouteCall
from ._messages import RouteResult as RouteResult
from ._messages import Shutdown as Shutdown
from ._shm import COPY_AFTER_SEND as COPY_AFTER_SEND
from ._shm import SHM_THRESHOLD as SHM_THRESHOLD
from ._shm import ShmRings as ShmRings
from ._shm import create_shm as create_shm

__all__ = (
    "COPY_AFTER_SEND",
    "DEFAULT_MAX_FRAME",
    "PROTOCOL_VERSION",
    "Call",
    "CallBatch",
    "CallFailed",
    "FrameDecoder",
    "Heartbeat",
    "Init",
    "InitFailed",
    "LOG_LEVELS",
    "Log",
    "Message",
    "PayloadStore",
    "RESERVED_LOG_FIELDS",
    "Ready",
    "Release",
    "Result",
    "Results",
    "RouteCall",
    "RouteResult",
    "SHM_THRESHOLD",
    "ShmRings",
    "Shutdown",
    "check_from_worker",
    "create_shm",
    "encode",
    "encode_into",
    "tune_malloc",
)
