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
def test_run_returns_results_in_task_order(n_threads):
    with ThreadPoolExecutor(max_workers=1) as executor:
        threads = _threads.TrainingThreads(executor, n_threads)
        assert threads.run(lambda task: task * 10, 3) == [0, 10, 20]


def test_run_uses_a_second_thread(two_threads):
    names = two_threads.run(lambda task: threading.current_thread().name, 2)
    assert names[0] == threading.current_thread().name
    assert names[1] != names[0]


def test_run_waits_for_all_tasks_before_raising(two_threads):
    finished = []
    started = threading.Event()

    def task(index):
        if index == 0:
            started.wait(timeout=5)
            raise RuntimeError("task 0 failed")
        started.set()
        threading.Event().wait(timeout=0.2)
        finished.append(index)
        return index

    with pytest.raises(RuntimeError, match="task 0 failed"):
        two_threads.run(task, 2)
    assert finished == [1]


def test_error_of_a_pool_task_propagates(two_threads):
    def task(index):
        if index == 1:
            raise ValueError("task 1 failed")
        return index

    with pytest.raises(ValueError, match="task 1 failed"):
        two_threads.run(task, 2)


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
