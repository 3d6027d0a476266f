"""Per-video work as Ray tasks: a local ``ray.init()`` or a cluster at an address. Ray is an optional extra
(``pip install 'affcurate[ray]'``); its dashboard stays off unless ``AFFCURATE_RAY_DASHBOARD=1``."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

from affcurate.errors import AffcurateError


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise AffcurateError("--executor ray needs Ray: pip install 'affcurate[ray]'") from None
    return ray


def ensure_ray(address: str | None = None, num_cpus: int | None = None) -> Any:
    """Connect to (or start) Ray once per process."""
    ray = _ray()
    if not ray.is_initialized():
        dashboard = os.environ.get("AFFCURATE_RAY_DASHBOARD") == "1"
        kwargs: dict[str, Any] = {"include_dashboard": dashboard, "log_to_driver": False,
                                  "configure_logging": False}
        if address:
            kwargs["address"] = address
        else:
            kwargs["num_cpus"] = num_cpus or os.cpu_count()
        try:
            ray.init(**kwargs)
        except ConnectionError as exc:
            raise AffcurateError(f"cannot reach the Ray cluster at {address}: {exc}") from None
    return ray


def ray_map(call: Callable[[Callable[[Any], Any], Any], Any], fn: Callable[[Any], Any], items: list[Any],
            spec: Any) -> Iterator[Any]:
    """Submit ``call(fn, item)`` for every item as a Ray task; yield results as they finish."""
    ray = ensure_ray(spec.address, spec.jobs if spec.jobs > 1 else None)
    remote = ray.remote(num_cpus=1, max_retries=0)(call)
    pending = [remote.remote(fn, item) for item in items]
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        for ref in done:
            yield ray.get(ref)
