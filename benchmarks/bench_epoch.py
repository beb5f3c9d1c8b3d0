"""Benchmark MeanFieldClassifier against MLPClassifier on Fashion-MNIST.

Run from the repository root, after ``pip install -e .``::

    apt-get install dataset-fashion-mnist    # the data, once
    python benchmarks/bench_epoch.py

``--data FOLDER`` reads the Fashion-MNIST IDX files from another folder.

The script measures, in one run and on the same 60000 x 784 float32 training
set:

* seconds per training epoch of ``MeanFieldClassifier`` and of
  ``MLPClassifier`` (both ``hidden_layer_sizes=(100, 100)``, batch 200, Adam)
  and of the matrix products of one mean-field epoch alone (the arithmetic
  floor). The three are interleaved in every repeat, so that machine noise
  hits each alike, each after a pause of half a second, and the medians are
  compared;
* the peak memory that NumPy allocates during ``fit`` of one epoch
  (``tracemalloc``), for both estimators;
* the test accuracy of both after the same number of epochs, for several
  random states;
* the time of ``import skcredit`` plus a first default ``fit`` on
  ``load_digits`` in a fresh process, with an empty and with a warm numba
  cache;
* ``predict_proba`` of a sampled ensemble of 32 networks on 10000 samples,
  with ``n_jobs=1`` and ``n_jobs=2``.

Every figure is printed with its ratio to the reference measured in the same
run, and the output ends with the project's performance targets, each
marked met or missed. Timings on a shared machine vary by up to 2x between runs; compare only
ratios from one run.
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings

import numpy as np
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_info

import skcredit
from skcredit import MeanFieldClassifier
from skcredit._cli import parse_positive_int
from skcredit.datasets import FASHION_MNIST_DIR, load_fashion_mnist, load_mnist_folder

HIDDEN = (100, 100)
BATCH_SIZE = 200
SETTLE_SECONDS = 0.5

COLD_START_CODE = """
import time
start = time.perf_counter()
import skcredit
from sklearn.datasets import load_digits
X, y = load_digits(return_X_y=True)
skcredit.MeanFieldClassifier(random_state=0).fit(X / 16.0, y)
print(time.perf_counter() - start)
"""


def parse_repeats(text):
    value = parse_positive_int(text)
    if value < 3:
        raise argparse.ArgumentTypeError(
            f"invalid value '{text}': expected at least 3, the repeats of a median")
    return value


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=parse_repeats, default=5,
                        help="interleaved repeats of the epoch timing, at least 3 "
                             "(default: 5)")
    parser.add_argument("--epochs", type=parse_positive_int, default=10,
                        help="epochs of the accuracy comparison (default: 10)")
    parser.add_argument("--seeds", type=parse_positive_int, default=3,
                        help="random states 0, 1, ... of the accuracy comparison, "
                             "the same for both estimators (default: 3)")
    parser.add_argument("--data", metavar="FOLDER", default=None,
                        help="folder of the Fashion-MNIST IDX files, gzipped or not "
                             f"(default: {FASHION_MNIST_DIR})")
    return parser.parse_args()


def load_data(folder=None):
    try:
        if folder is None:
            return load_fashion_mnist(dtype=np.float32)
        return load_mnist_folder(folder, dtype=np.float32)
    except (FileNotFoundError, ValueError) as error:
        sys.exit(f"bench_epoch.py: {error}")


def make_estimators(random_state=0):
    params = dict(hidden_layer_sizes=HIDDEN, batch_size=BATCH_SIZE,
                  random_state=random_state)
    return MeanFieldClassifier(**params), MLPClassifier(**params)


def time_call(function, settle=False):
    """Return the seconds that ``function()`` takes.

    With ``settle``, first pause for ``SETTLE_SECONDS``: without the pause,
    an epoch measured right after two-threaded matrix products took up to
    10 % longer on the benchmark machine, likely because BLAS threads of
    the previous measurement still wait actively for work.
    """
    if settle:
        time.sleep(SETTLE_SECONDS)
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


class GemmFloor:
    """The matrix products of one mean-field epoch, on buffers allocated once.

    Per batch and layer: ``H @ mu`` and ``(H * H) @ var`` forward,
    ``H.T @ delta`` and ``(H * H).T @ gamma`` for the weight gradients, and
    ``delta @ mu.T`` and ``gamma @ var.T`` for the input gradient of every
    layer but the first.
    """

    def __init__(self, X, n_classes):
        self.X = X
        units = [X.shape[1], *HIDDEN, n_classes]
        self.shapes = list(zip(units[:-1], units[1:]))
        rng = np.random.default_rng(0)
        dtype = X.dtype
        self.weights = [rng.standard_normal(s).astype(dtype) for s in self.shapes]
        self.outputs = [np.empty((BATCH_SIZE, b), dtype) for _, b in self.shapes]
        self.inputs = [np.empty((BATCH_SIZE, a), dtype) for a, _ in self.shapes]
        self.grads = [np.empty(s, dtype) for s in self.shapes]
        self.squared = np.empty((BATCH_SIZE, units[0]), dtype)

    def run_epoch(self):
        n_samples = self.X.shape[0] - self.X.shape[0] % BATCH_SIZE
        for start in range(0, n_samples, BATCH_SIZE):
            batch = self.X[start:start + BATCH_SIZE]
            for layer, (weight, out) in enumerate(zip(self.weights, self.outputs)):
                inputs = batch if layer == 0 else self.outputs[layer - 1]
                for _ in range(2):
                    np.matmul(inputs, weight, out=out)
                    np.matmul(inputs.T, out, out=self.grads[layer])
                if layer > 0:
                    for _ in range(2):
                        np.matmul(out, weight.T, out=self.inputs[layer])


def benchmark_epochs(X, y, repeats):
    mean_field, mlp = make_estimators()
    classes = np.unique(y)
    floor = GemmFloor(X, len(classes))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # Warm-up: compile the kernels, allocate, start the BLAS threads.
        mean_field.partial_fit(X[:2000], y[:2000], classes=classes)
        mlp.partial_fit(X[:2000], y[:2000], classes=classes)
        floor.run_epoch()
        times = {"MeanFieldClassifier": [], "MLPClassifier": [], "GEMM floor": []}
        for repeat in range(repeats):
            times["MeanFieldClassifier"].append(
                time_call(lambda: mean_field.partial_fit(X, y), settle=True))
            times["MLPClassifier"].append(
                time_call(lambda: mlp.partial_fit(X, y), settle=True))
            times["GEMM floor"].append(time_call(floor.run_epoch, settle=True))
            print(f"  repeat {repeat + 1}: " + ", ".join(
                f"{name} {values[-1]:.2f} s" for name, values in times.items()))
    return {name: statistics.median(values) for name, values in times.items()}


def peak_fit_memory(estimator, X, y):
    """Return the peak bytes NumPy allocates during a one-epoch fit."""
    estimator.set_params(max_iter=1)
    tracemalloc.start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X, y)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def compare_accuracy(X, y, X_test, y_test, epochs, seeds):
    """Return the test accuracies of both estimators, one per random state.

    Also return the ``MeanFieldClassifier`` fitted with random state 0.
    """
    # TODO: after 10 epochs MeanFieldClassifier is on average about 0.01
    # below MLPClassifier, short of the target of no lower.
    # doc/benchmarks.rst gives the measurements: the gap closes only with
    # settings that also stop synapses from reaching pi = 1 on load_digits.
    scores = {"MeanFieldClassifier": [], "MLPClassifier": []}
    first_mean_field = None
    for seed in range(seeds):
        for estimator in make_estimators(seed):
            estimator.set_params(max_iter=epochs)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                estimator.fit(X, y)
            scores[type(estimator).__name__].append(estimator.score(X_test, y_test))
            if seed == 0 and isinstance(estimator, MeanFieldClassifier):
                first_mean_field = estimator
    return scores, first_mean_field


def time_cold_start():
    """Return the seconds of import plus first fit, cold and warm numba cache."""
    with tempfile.TemporaryDirectory() as cache_dir:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
        results = []
        for _ in ("cold", "warm"):
            output = subprocess.run(
                [sys.executable, "-c", COLD_START_CODE], env=env, check=True,
                capture_output=True, text=True,
            ).stdout
            results.append(float(output.strip().splitlines()[-1]))
    return results


def time_sampled_prediction(estimator, X_test, repeats):
    sampled = estimator.set_params(inference="sampled", n_networks=32)
    first_calls = {}
    times = {1: [], 2: []}
    for n_jobs in times:
        first_calls[n_jobs] = time_call(
            lambda: sampled.set_params(n_jobs=n_jobs).predict_proba(X_test))
    for _ in range(repeats):
        for n_jobs in times:
            sampled.set_params(n_jobs=n_jobs)
            times[n_jobs].append(time_call(lambda: sampled.predict_proba(X_test)))
    return first_calls, {n: statistics.median(t) for n, t in times.items()}


def print_environment():
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"{platform.platform()}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, "
          f"scikit-learn {sklearn.__version__}, skcredit {skcredit.__version__}, "
          f"numba {__import__('numba').__version__}")
    for pool in threadpool_info():
        print(f"thread pool: {pool.get('internal_api')} {pool.get('version')} "
              f"{pool.get('architecture', '')}, {pool.get('num_threads')} threads")


def main():
    args = parse_arguments()
    print_environment()
    print(f"data: Fashion-MNIST from {args.data or FASHION_MNIST_DIR}")
    X, X_test, y, y_test = load_data(args.data)

    print(f"\nEpoch time, median of {args.repeats} interleaved repeats:")
    epoch = benchmark_epochs(X, y, args.repeats)
    mlp_epoch = epoch["MLPClassifier"]
    floor_epoch = epoch["GEMM floor"]
    for name, seconds in epoch.items():
        print(f"  {name:20s} {seconds:6.2f} s   {seconds / mlp_epoch:5.2f} x MLP"
              f"   {seconds / floor_epoch:5.2f} x floor")

    print("\nPeak NumPy memory of a one-epoch fit:")
    mean_field, mlp = make_estimators()
    memory = {
        "MeanFieldClassifier": peak_fit_memory(mean_field, X, y),
        "MLPClassifier": peak_fit_memory(mlp, X, y),
    }
    for name, peak in memory.items():
        print(f"  {name:20s} {peak / 2**20:7.1f} MiB   "
              f"{peak / memory['MLPClassifier']:5.2f} x MLP")

    print(f"\nTest accuracy after {args.epochs} epochs, random states 0 to "
          f"{args.seeds - 1}:")
    scores, fitted = compare_accuracy(X, y, X_test, y_test, args.epochs, args.seeds)
    for name, values in scores.items():
        print(f"  {name:20s} mean {statistics.mean(values):.4f}   "
              + " ".join(f"{v:.4f}" for v in values))
    gap = statistics.mean(scores["MeanFieldClassifier"]) - statistics.mean(
        scores["MLPClassifier"])
    print(f"  difference of the means {gap:+.4f}")

    print("\nimport skcredit + first default fit on load_digits, fresh process:")
    cold, warm = time_cold_start()
    print(f"  empty numba cache {cold:6.2f} s")
    print(f"  warm numba cache  {warm:6.2f} s")

    print("\nSampled predict_proba, 32 networks, 10000 samples:")
    first_calls, sampled = time_sampled_prediction(fitted, X_test, args.repeats)
    for n_jobs, seconds in sampled.items():
        print(f"  n_jobs={n_jobs}  {seconds:6.3f} s (first call "
              f"{first_calls[n_jobs]:.3f} s)")
    print(f"  speed-up of n_jobs=2: {sampled[1] / sampled[2]:.2f} x")

    print("\nTargets:")
    mean_field_epoch = epoch["MeanFieldClassifier"]
    targets = [
        ("epoch <= 1.0 x MLP", f"{mean_field_epoch / mlp_epoch:.2f} x",
         mean_field_epoch <= mlp_epoch),
        ("epoch <= 2.5 x floor", f"{mean_field_epoch / floor_epoch:.2f} x",
         mean_field_epoch <= 2.5 * floor_epoch),
        ("peak memory <= 1.5 x MLP",
         f"{memory['MeanFieldClassifier'] / memory['MLPClassifier']:.2f} x",
         memory["MeanFieldClassifier"] <= 1.5 * memory["MLPClassifier"]),
        ("warm import + first fit < 5 s", f"{warm:.2f} s", warm < 5.0),
        ("n_jobs=2 speed-up >= 1.6 x", f"{sampled[1] / sampled[2]:.2f} x",
         sampled[1] >= 1.6 * sampled[2]),
        (f"accuracy after {args.epochs} epochs >= MLP", f"{gap:+.4f}", gap >= 0),
    ]
    for name, figure, met in targets:
        print(f"  {name:34s} {figure:>8s}   {'met' if met else 'MISSED'}")


if __name__ == "__main__":
    main()
