"""How many threads the numeric libraries may use, in the box and in its workers.

numpy's OpenBLAS, OpenMP and onnxruntime each start a pool of one thread per core by default.
On a box of 2–4 cores that also plays music, those pools compete with the audio thread and with
each other: a BLAS call split over both cores while another process keeps them busy waits for
its slowest thread (embedding the descriptor table took 59 s with two other busy processes on
2 cores, 5.5 s on one thread). So the box's own process does its numeric work on one thread,
and each worker process (score reader, speech, language model) gets the count it is given.

The limits are environment variables, read by each library when it loads: set before numpy is
imported they cost nothing, and every process started later inherits them. When a library is
already loaded (``appliance``'s entry point runs after its module has imported numpy), its
running pool is limited too (threadpoolctl). A variable the user has set
himself is left as it is: ``OPENBLAS_NUM_THREADS=2 appliance run`` gives the box's BLAS two
threads (each variable counts for its own library).

onnxruntime reads none of these variables: its sessions take their thread counts from
:func:`onnx_session_options`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import onnxruntime

BOX_THREADS = 1  # the box's own process: the audio thread comes first

# The variables the numeric libraries read at load time for the size of their thread pools.
VARIABLES = (
    "OMP_NUM_THREADS",  # OpenMP (and OpenBLAS when its own variable is not set)
    "OPENBLAS_NUM_THREADS",  # numpy's and scipy's BLAS
    "MKL_NUM_THREADS",  # Intel MKL, where numpy was built with it
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",  # Apple Accelerate
    "BLIS_NUM_THREADS",
)
# threadpoolctl's name for a loaded library → the variable that sets its pool.
_POOLS = {
    "openblas": "OPENBLAS_NUM_THREADS",
    "mkl": "MKL_NUM_THREADS",
    "blis": "BLIS_NUM_THREADS",
    "openmp": "OMP_NUM_THREADS",
}

_ours: dict[str, str] = {}  # the variables this process set, with the values it set


@dataclass(frozen=True)
class ThreadLimits:
    """What :func:`limit_threads` did."""

    threads: int
    kept: dict[str, str] = field(default_factory=dict)  # the user's own settings, left alone
    pools: dict[str, int] = field(default_factory=dict)  # running pools limited: library → threads


def user_settings(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The thread variables set by the user (not by :func:`limit_threads` in this process)."""
    env = os.environ if environ is None else environ
    return {
        name: env[name]
        for name in VARIABLES
        if env.get(name, "").strip() and _ours.get(name) != env[name]
    }


def limit_threads(threads: int = BOX_THREADS) -> ThreadLimits:
    """Limit this process, and every process it starts, to ``threads`` threads per numeric
    library. Call it first thing, before numpy is imported; variables the user has set are
    kept. Libraries already loaded have their running pools limited as well."""
    if threads < 1:
        raise ValueError(f"thread limit must be at least 1, not {threads}")
    kept = user_settings()
    for name in VARIABLES:
        if name not in kept:
            os.environ[name] = _ours[name] = str(threads)
    return ThreadLimits(threads, kept, _limit_running_pools(threads))


def _limit_running_pools(threads: int) -> dict[str, int]:
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # an older install: the variables still hold for what loads later
        return {}
    controller = ThreadpoolController()
    loaded = {lib.internal_api for lib in controller.lib_controllers}
    wanted = {api: _count(os.environ.get(name), threads) for api, name in _POOLS.items()}
    limits = {api: n for api, n in wanted.items() if api in loaded}
    for api, n in limits.items():  # stays in force: never restored
        controller.select(internal_api=api).limit(limits=n)
    return limits


def _count(value: str | None, default: int) -> int:
    try:
        return max(int(value or ""), 1)
    except ValueError:
        return default


def worker_environment(
    threads: int, base: Mapping[str, str] | None = None, *, keep_user: bool = True
) -> dict[str, str]:
    """The environment for a worker process whose numeric libraries may use ``threads``
    threads: a copy of ``base`` (this process's environment) with every thread variable set,
    except the user's own settings when ``keep_user``. A worker whose limit is a hard one
    (e.g. a memory limit that counts every thread's stack) passes ``keep_user=False``."""
    env = dict(os.environ if base is None else base)
    kept = user_settings(env) if keep_user else {}
    for name in VARIABLES:
        if name not in kept:
            env[name] = str(threads)
    return env


def onnx_session_options(threads: int = BOX_THREADS) -> onnxruntime.SessionOptions:
    """onnxruntime session options for ``threads`` threads within an operator and none
    between operators; pool threads sleep rather than spin while they wait for work."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options
