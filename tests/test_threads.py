"""The thread helper of the training loop."""

import json
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from threadpoolctl import threadpool_info

from skcredit import _threads


@pytest.fixture
def two_threads():
    with ThreadPoolExecutor(max_workers=1) as executor:
        yield _threads.TrainingThreads(executor, 2)


@pytest.mark.parametrize("n_threads", [1, 2])
def test_run_calls_every_thread(n_threads):
    seen = []

    def function(thread, arrive, wait):
        seen.append(thread)
        arrive()
        wait()
        return thread * 10 + 1

    with ThreadPoolExecutor(max_workers=1) as executor:
        threads = _threads.TrainingThreads(executor, n_threads)
        assert threads.run(function) == 1
    assert sorted(seen) == list(range(n_threads))


def test_run_uses_a_second_thread(two_threads):
    names = {}

    def function(thread, arrive, wait):
        names[thread] = threading.current_thread().name

    two_threads.run(function)
    assert names[0] == threading.current_thread().name
    assert names[1] != names[0]


def test_wait_blocks_until_all_arrive(two_threads):
    written = []
    read = []

    def function(thread, arrive, wait):
        for phase in range(3):
            if thread == 1:
                # The other thread arrives long before this one.
                threading.Event().wait(timeout=0.05)
                written.append(phase)
            arrive()
            wait()
            if thread == 0:
                read.append(list(written))

    two_threads.run(function)
    assert read == [[0], [0, 1], [0, 1, 2]]


def test_thread_error_breaks_other_waits(two_threads):
    def function(thread, arrive, wait):
        if thread == 1:
            raise ValueError("thread 1 failed")
        arrive()
        wait()

    with pytest.raises(ValueError, match="thread 1 failed"):
        two_threads.run(function)


def test_run_waits_for_all_threads_before_raising(two_threads):
    finished = []
    started = threading.Event()

    def function(thread, arrive, wait):
        if thread == 0:
            started.wait(timeout=5)
            raise RuntimeError("thread 0 failed")
        started.set()
        threading.Event().wait(timeout=0.2)
        finished.append(thread)
        arrive()
        wait()

    with pytest.raises(RuntimeError, match="thread 0 failed"):
        two_threads.run(function)
    assert finished == [1]


def test_phases_wait_for_the_slowest_thread():
    phases = _threads.Phases(2)
    phases.arrive(0)
    phases.arrive(0)
    phases.arrive(1)
    # Thread 1 has arrived as often as it waits for, and thread 0 is ahead.
    phases.wait(1)
    waiter = threading.Thread(target=phases.wait, args=(0,))
    waiter.start()
    waiter.join(timeout=0.05)
    assert waiter.is_alive()
    phases.arrive(1)
    waiter.join(timeout=5)
    assert not waiter.is_alive()


def test_phases_abort_breaks_waits():
    phases = _threads.Phases(2)
    phases.arrive(0)
    phases.abort()
    with pytest.raises(threading.BrokenBarrierError):
        phases.wait(0)


def test_training_threads_never_exceed_the_shards():
    with _threads.training_threads(1) as threads:
        assert threads.n_threads == 1
    with _threads.training_threads(2) as threads:
        assert 1 <= threads.n_threads <= 2


def _blas_threads():
    return [pool["num_threads"] for pool in threadpool_info()
            if pool["user_api"] == "blas"]


def test_overlapping_blas_limits_restore_the_original():
    """Limits opened and closed in crossed order, as by two threads."""
    original = _blas_threads()
    first = _threads.one_blas_thread()
    second = _threads.one_blas_thread()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert set(_blas_threads()) == {1}
    second.__exit__(None, None, None)
    assert _blas_threads() == original


# Start of the scripts below, which run in a fresh process: no earlier
# limit of this test session affects them.
SCRIPT_START = """
import json
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from sklearn.datasets import load_digits
from threadpoolctl import threadpool_info, threadpool_limits
from skcredit import MeanFieldClassifier

def blas_threads():
    return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]

X, y = load_digits(return_X_y=True)
warnings.simplefilter("ignore")
before = blas_threads()
"""


def _blas_threads_in_script(body):
    """Run a script in a fresh process; return its printed thread counts."""
    output = subprocess.run(
        [sys.executable, "-c", SCRIPT_START + body], check=True,
        capture_output=True, text=True,
    ).stdout
    return [json.loads(line) for line in output.strip().splitlines()]


def test_fits_from_two_threads_restore_the_blas_threads():
    [(before, after)] = _blas_threads_in_script("""
fit = lambda n: MeanFieldClassifier(max_iter=n, random_state=0).fit(X / 16, y)
with ThreadPoolExecutor(max_workers=2) as executor:
    list(executor.map(fit, [10, 10]))
print(json.dumps([before, blas_threads()]))
""")
    assert after == before


def test_blas_limit_takes_effect_in_another_thread():
    """A limit opened in a second thread works after one in the main thread."""
    original = _blas_threads()
    with _threads.one_blas_thread():
        pass
    inside = []

    def limited():
        with _threads.one_blas_thread():
            inside.append(_blas_threads())

    thread = threading.Thread(target=limited)
    thread.start()
    thread.join()
    assert set(inside[0]) == {1}
    assert _blas_threads() == original


def test_user_limit_around_a_fit_in_a_thread_is_restored():
    """The user's own limit closes while a fit that started under it runs."""
    lines = _blas_threads_in_script("""
started = threading.Event()
run_epoch = MeanFieldClassifier._run_epoch

def run_epoch_and_signal(self, *args):
    started.set()
    return run_epoch(self, *args)

MeanFieldClassifier._run_epoch = run_epoch_and_signal

def fit():
    MeanFieldClassifier(max_iter=20, random_state=0).fit(X / 16, y)

with threadpool_limits(limits=1, user_api="blas"):
    thread = threading.Thread(target=fit)
    thread.start()
    started.wait()
print(json.dumps([before, blas_threads()]))
thread.join()
print(json.dumps([before, blas_threads()]))
""")
    for before, now in lines:
        assert now == before
