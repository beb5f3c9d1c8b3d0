"""Threads of the training loop.

Training splits every mini-batch into a fixed number of row shards (see
:class:`skcredit._network.Workspace`) and runs the shards' forward and
backward passes, and then the rows of the optimizer step, on parallel
threads. The matrix products and the numba kernels release the GIL. Each
thread runs them with one BLAS thread and one numba thread, so no idle pool
of spinning threads competes with them for the cores.

The number of shards is fixed and the work of each shard does not depend on
the thread that runs it, so a fit gives the same model bit for bit with any
number of threads.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from functools import partial

import numba
import threadpoolctl

from . import _kernels

_controllers = None
_controllers_lock = threading.Lock()

# Open one_blas_thread contexts, and the limiter of the outermost one.
_limit_lock = threading.Lock()
_limit_depth = 0
_limiter = None


def _blas_controllers():
    """Return thread pool controllers of the BLAS libraries, made once.

    Making a controller lists the loaded libraries, which takes milliseconds.
    Reusing it makes limiting the BLAS threads cheap enough for every
    ``partial_fit`` call. NumPy loads its BLAS at import, so the list is
    complete.

    Returns
    -------
    all_libraries, shared, per_thread : threadpoolctl.ThreadpoolController
        All BLAS libraries; those with one pool and one limit for the whole
        process; and those with a limit per thread (OpenBLAS built with
        OpenMP).
    """
    global _controllers
    with _controllers_lock:
        if _controllers is None:
            blas = threadpoolctl.ThreadpoolController().select(user_api="blas")
            per_thread_paths = []
            shared_paths = []
            for info in blas.info():
                if info.get("threading_layer") == "openmp":
                    per_thread_paths.append(info["filepath"])
                else:
                    shared_paths.append(info["filepath"])
            _controllers = (
                blas,
                blas.select(filepath=shared_paths),
                blas.select(filepath=per_thread_paths),
            )
        return _controllers


def available_threads():
    """Return how many threads the process may use for computation.

    That is the BLAS thread limit in force (which joblib's workers and
    ``threadpoolctl.threadpool_limits`` lower), or the number of usable
    cores when no BLAS library is found.
    """
    blas, _, _ = _blas_controllers()
    pools = blas.info()
    if pools:
        return max(pool["num_threads"] for pool in pools)
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _release_blas_control():
    """Let the next thread that sets a BLAS limit take effect.

    From version 3.8, threadpoolctl lets only one thread at a time set the
    thread count of a process-wide OpenBLAS pool: the first thread that sets
    it. The others are silently ignored until that thread releases control.
    """
    clear = getattr(threadpoolctl.OpenBLASController, "clear_controlling_thread",
                    None)
    if clear is not None:
        clear(force=True)


def limit_this_thread():
    """Limit BLAS and numba to one thread for the calling thread.

    Meant for worker threads that end with the work. For BLAS libraries
    with one pool for the whole process, :func:`one_blas_thread` sets the
    limit instead.
    """
    _, _, per_thread = _blas_controllers()
    per_thread.limit(limits=1)
    numba.set_num_threads(1)


@contextmanager
def one_blas_thread():
    """Limit BLAS to one thread in the enclosed code.

    A library with one thread pool for the whole process has one limit.
    Contexts opened from several threads at once, such as fits under
    joblib's threading backend, therefore share it: the first context sets
    it, and the last one to close restores the original thread counts.
    Where BLAS already runs one thread, the contexts change nothing.
    Libraries with a limit per thread (OpenBLAS built with OpenMP) are
    limited in the thread that opens the context, and restored when it
    closes.

    NOTE: a ``threadpoolctl`` limit that another thread opens while such a
    context is open records one thread as the value to restore, so it
    leaves BLAS at one thread if it closes after the context. And where a
    context changed nothing because another thread's limit was in force,
    that thread may lift its limit while the context is still open, so
    that the enclosed code runs BLAS with more threads from then on. A fit
    then trains on, but its model may differ in the last bits from the
    same fit alone. Both hold for any two overlapping users of the
    process-wide limit.
    """
    global _limit_depth, _limiter
    _, shared, per_thread = _blas_controllers()
    with _limit_lock:
        # Where BLAS already runs one thread, for instance under the caller's
        # own threadpool_limits, the limit is left alone, so that the
        # caller's context restores it as usual.
        if _limit_depth == 0 and any(
            info["num_threads"] != 1 for info in shared.info()
        ):
            _release_blas_control()
            _limiter = shared.limit(limits=1)
        _limit_depth += 1
    try:
        with per_thread.limit(limits=1):
            yield
    finally:
        with _limit_lock:
            _limit_depth -= 1
            if _limit_depth == 0 and _limiter is not None:
                _release_blas_control()
                _limiter.restore_original_limits()
                _release_blas_control()
                _limiter = None


class Phases:
    """A barrier split in two, for threads that work in lockstep phases.

    ``arrive(thread)`` marks the end of the thread's current phase and
    returns at once. ``wait(thread)`` returns once every thread has arrived
    as often as this one. Work that a thread does between the two calls
    hides the time the others take to catch up and to wake up.
    """

    def __init__(self, n_threads):
        self._condition = threading.Condition()
        self._arrivals = [0] * n_threads
        self._broken = False

    def arrive(self, thread):
        with self._condition:
            self._arrivals[thread] += 1
            self._condition.notify_all()

    def wait(self, thread):
        """Wait until every thread has arrived as often as ``thread``.

        Raise BrokenBarrierError once :meth:`abort` has been called.
        """
        with self._condition:
            target = self._arrivals[thread]
            self._condition.wait_for(
                lambda: self._broken or min(self._arrivals) >= target
            )
            if self._broken:
                raise threading.BrokenBarrierError

    def abort(self):
        """Make every current and later ``wait`` raise BrokenBarrierError."""
        with self._condition:
            self._broken = True
            self._condition.notify_all()


class TrainingThreads:
    """Run one function on ``n_threads`` threads at once.

    The calling thread is thread 0 and the pool's threads are the others.
    """

    def __init__(self, executor, n_threads):
        self.executor = executor
        self.n_threads = n_threads

    def run(self, function):
        """Call ``function(thread, arrive, wait)`` on every thread at once.

        ``thread`` runs from 0 to ``n_threads - 1``. ``arrive()`` and
        ``wait()`` are the two halves of a barrier among the threads (see
        :class:`Phases`), and with one thread they return at once. Return
        the result of thread 0.

        If a thread raises, the others get
        :class:`threading.BrokenBarrierError` from their next ``wait()``.
        Every thread ends before the exception propagates, so no thread
        writes to shared buffers afterwards.
        """
        if self.n_threads == 1:
            return function(0, _return_at_once, _return_at_once)
        phases = Phases(self.n_threads)

        def on_thread(thread):
            try:
                return function(
                    thread, partial(phases.arrive, thread),
                    partial(phases.wait, thread),
                )
            except BaseException:
                phases.abort()
                raise

        futures = [
            self.executor.submit(on_thread, thread)
            for thread in range(1, self.n_threads)
        ]
        errors = []
        try:
            result = on_thread(0)
        except BaseException as error:
            errors.append(error)
        try:
            errors.extend(future.exception() for future in futures)
        except BaseException:
            # Interrupted while waiting: stop the other threads first.
            phases.abort()
            wait(futures)
            raise
        errors = [error for error in errors if error is not None]
        # A broken barrier only reports that another thread failed.
        causes = [
            error for error in errors
            if not isinstance(error, threading.BrokenBarrierError)
        ]
        if errors:
            raise (causes or errors)[0]
        return result


def _return_at_once():
    pass


@contextmanager
def training_threads(n_shards):
    """Provide :class:`TrainingThreads` for a fit with ``n_shards`` shards.

    Inside the context BLAS and numba use one thread each; the previous
    limits are restored on exit. The number of threads is at most
    ``n_shards`` and at most :func:`available_threads`. Parallel numba
    kernels may run from several threads at once only with the ``omp`` or
    ``tbb`` threading layer. With ``workqueue`` the shards run one after
    the other, with the same results.
    """
    n_threads = min(n_shards, available_threads())
    if n_threads > 1 and not _kernels.concurrent_kernels_supported():
        n_threads = 1
    with one_blas_thread(), _kernels.numba_threads(1):
        if n_threads == 1:
            yield TrainingThreads(None, 1)
            return
        with ThreadPoolExecutor(
            max_workers=n_threads - 1,
            thread_name_prefix="skcredit-training",
            initializer=limit_this_thread,
        ) as executor:
            yield TrainingThreads(executor, n_threads)
