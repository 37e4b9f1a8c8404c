"""The Ray executor: each attempt is a Ray task asking for its CPUs and GPUs, on a local instance or a cluster.

With no ``--address`` the executor starts a local Ray instance (all of this machine's cores and GPUs, no dashboard)
and stops it at the end; with ``--address HOST:PORT`` (or ``auto``, the cluster ``ray start`` last started here) it
connects to an existing cluster, whose nodes must have zeroshift installed (the worker code is imported there, not
shipped) and, for a multi-node cluster, should share the artefact cache (``$ZEROSHIFT_CACHE``) and write to one
PostgreSQL store (``--store postgresql+psycopg://...``). An address is checked before any work: one that does not
answer is refused with one line.

Each attempt runs as a streaming generator task (``num_returns="streaming"``) with
``num_cpus``/``num_gpus`` resources and no Ray-level retries (the driver counts and reports retries itself), so the
driver receives each condition's record as soon as it is computed. A worker that dies surfaces as an error of its
generator after the events it had delivered.

Example:
    >>> parse_host_port("10.0.0.1:6379"), parse_host_port("ray://head:10001")
    (('10.0.0.1', 6379), ('head', 10001))

"""

from __future__ import annotations

import contextlib
import math
import os
import socket
from typing import Any

from zeroshift.errors import UsageError
from zeroshift.sweep.worker import Attempt, iter_task, one_line


def _quiet_environment() -> None:
    """Settings for Ray set before it is imported: no uv re-launch of workers, no usage reporting."""
    # workers start with this interpreter (its virtual environment), not through `uv run` re-resolving the project
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


def import_ray() -> Any:
    """Import Ray (one clear line when it is not installed)."""
    _quiet_environment()
    try:
        import ray
    except ImportError as err:
        raise UsageError(f"--executor ray needs Ray (pip install ray): {err}") from None
    return ray


#: settings of a local Ray instance on a busy machine: the raylet waits up to two minutes for its agents (their
#: Python imports alone can take longer than the default 15 s when the cores are shared), and starts no idle worker
#: processes of its own competing with them (each task starts its worker)
LOCAL_RAY_ENV = {"RAY_agent_register_timeout_ms": "120000", "RAY_enable_worker_prestart": "0"}


def init_local_ray(num_cpus: int | None = None, num_gpus: int | None = None, attempts: int = 3) -> Any:
    """Start a local Ray instance (no dashboard); a start that times out on a busy machine is tried again."""
    for name, value in LOCAL_RAY_ENV.items():
        os.environ.setdefault(name, value)
    ray = import_ray()
    for attempt in range(attempts):
        try:
            ray.init(num_cpus=num_cpus, num_gpus=num_gpus, include_dashboard=False, log_to_driver=False,
                     configure_logging=False)  # fmt: skip
            return ray
        except Exception:  # e.g. "The current node timed out during startup"
            if ray.is_initialized():
                ray.shutdown()
            if attempt == attempts - 1:
                raise
    return ray


def parse_host_port(address: str) -> tuple[str, int]:
    """``HOST:PORT`` (or ``ray://HOST:PORT``) -> (host, port); one line for anything else."""
    text = address.removeprefix("ray://")
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise UsageError(f"--address {address!r}: expected HOST:PORT (the address `ray start --head` printed) or auto")
    return host.strip("[]"), int(port)


def resolve_address(address: str) -> str:
    """``auto`` -> the cluster ``ray start`` last started on this machine; anything else as given."""
    if address != "auto":
        return address
    ray_tmp = os.environ.get("RAY_TMPDIR", "/tmp/ray")
    try:
        with open(os.path.join(ray_tmp, "ray_current_cluster")) as f:
            found = f.read().strip()
    except OSError:
        found = ""
    if not found:
        raise UsageError("--address auto: no Ray cluster was started on this machine (ray start --head)")
    return found


def check_address(address: str, timeout: float = 5.0) -> str:
    """The address to connect to, after checking that something answers there (UsageError if not)."""
    resolved = resolve_address(address)
    host, port = parse_host_port(resolved)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as err:
        reason = err.strerror or type(err).__name__.replace("Error", " error").strip()
        raise UsageError(
            f"--address {address}: no Ray cluster answers at {host}:{port} ({reason.lower()}); start one with "
            "`ray start --head` or leave --address out to start a local Ray instance"
        ) from None
    return resolved


def _ray_task(attempt: Attempt) -> Any:
    """The body of a Ray task: the attempt's events, streamed to the driver."""
    yield from iter_task(attempt)


class RayExecutor:
    """Attempts as Ray tasks (see the module docstring)."""

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        workers: int | None = None,
        cpus_per_task: float = 1.0,
        gpus_per_task: float | None = None,
    ) -> None:
        self.address = address
        self.workers = workers
        self.cpus_per_task = cpus_per_task
        self.gpus_per_task = gpus_per_task
        self._ray: Any = None
        self._remote: Any = None
        self._owned = False
        self._gens: dict[Any, tuple[int, int]] = {}

    def start(self) -> None:
        """Connect to the cluster (or start a local instance; an instance this process already runs is reused)."""
        ray = import_ray()
        if not ray.is_initialized():
            if self.address:
                try:
                    ray.init(address=self.address, log_to_driver=False, configure_logging=False)
                except Exception as err:  # whatever Ray raises for a cluster it cannot join
                    raise UsageError(
                        f"--address {self.address}: cannot join the Ray cluster ({one_line(err)})"
                    ) from None
            else:
                init_local_ray()
            self._owned = True
        self._ray = ray
        resources = ray.cluster_resources()
        cpus, gpus = float(resources.get("CPU", 0)), float(resources.get("GPU", 0))
        if self.gpus_per_task is None:
            self.gpus_per_task = 1.0 if gpus >= 1 else 0.0
        if self.cpus_per_task > cpus or self.gpus_per_task > gpus:
            raise UsageError(
                f"a task asks for {self.cpus_per_task:g} CPU and {self.gpus_per_task:g} GPU but the Ray cluster has "
                f"{cpus:g} CPU and {gpus:g} GPU in all; lower --cpus-per-task/--gpus-per-task"
            )
        self._remote = ray.remote(_ray_task).options(
            num_cpus=self.cpus_per_task, num_gpus=self.gpus_per_task, num_returns="streaming", max_retries=0
        )

    def describe(self) -> str:
        """What runs the tasks, for the summary."""
        where = f"cluster at {self.address}" if self.address else "local Ray instance"
        return f"ray: {where}, {self.cpus_per_task:g} CPU and {self.gpus_per_task or 0:g} GPU per task"

    def capacity(self) -> int:
        """How many attempts to keep in flight: what the cluster's resources fit now (``--workers`` caps it)."""
        resources = self._ray.cluster_resources()
        slots = math.floor(float(resources.get("CPU", 0)) / self.cpus_per_task) if self.cpus_per_task else 10**6
        if self.gpus_per_task:
            slots = min(slots, math.floor(float(resources.get("GPU", 0)) / self.gpus_per_task))
        if self.workers:
            slots = min(slots, self.workers)
        return max(1, slots)

    def running(self) -> int:
        """Attempts in flight."""
        return len(self._gens)

    def submit(self, attempt: Attempt) -> None:
        """Start an attempt as a Ray task."""
        self._gens[self._remote.remote(attempt)] = attempt.key

    def events(self, timeout: float) -> list[tuple[tuple[int, int], dict[str, Any]]]:
        """Events of the attempts in flight (waits up to ``timeout`` seconds for the first one)."""
        if not self._gens:
            return []
        ready, _ = self._ray.wait(list(self._gens), num_returns=1, timeout=timeout)
        out: list[tuple[tuple[int, int], dict[str, Any]]] = []
        for gen in ready:
            key = self._gens[gen]
            try:
                ref = next(gen)
                out.append((key, self._ray.get(ref)))
            except StopIteration:
                out.append((key, {"kind": "finished"}))
                del self._gens[gen]
            except Exception as err:  # the worker died or the task failed outside a condition
                out.append((key, {"kind": "crashed", "error": _ray_error(err)}))
                out.append((key, {"kind": "finished"}))
                del self._gens[gen]
        return out

    def close(self) -> None:
        """Cancel attempts in flight; stop the Ray instance if this executor started it."""
        for gen in list(self._gens):
            with contextlib.suppress(Exception):  # best effort on the way out
                self._ray.cancel(gen, force=True)
        self._gens.clear()
        if self._owned and self._ray is not None and self._ray.is_initialized():
            self._ray.shutdown()


def _ray_error(err: BaseException) -> str:
    """The first line of a Ray error (the cause of a task error, not Ray's wrapping)."""
    cause = getattr(err, "cause", None)
    if isinstance(cause, BaseException):
        return one_line(cause)
    return one_line(err)


__all__ = ["RayExecutor", "check_address", "import_ray", "init_local_ray", "parse_host_port", "resolve_address"]
