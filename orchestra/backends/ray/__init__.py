"""The Ray backend: every instance a Ray actor, anywhere in a Ray cluster.

``backend: {kind: ray, address: auto}`` in a config, or
``Orchestra(config, backend=RayBackend(...))``. Needs the extra:
``pip install 'orchestra-wasm[ray]'``.

General layout:

- ``_backend``: the driver side (``RayBackend``: Ray connection, the listener actors
  dial back to, module shipping, actor options; ``RayChannel``: the socket I/O
  shared with the local backend plus ``ray.kill``/actor death).
- ``_actor``: the actor (runs inside a Ray worker process): connects back and runs
  the shared worker serve loop.
- ``_objects``: large payloads by reference through Ray's object store (the
  driver's ``RayObjectStore``, the actor's ``ActorPayloads``, ObjectRefs as bytes).
"""

from ._backend import RayBackend as RayBackend
from ._backend import RayChannel as RayChannel

backend_class = RayBackend

__all__ = ("RayBackend", "RayChannel", "backend_class")
