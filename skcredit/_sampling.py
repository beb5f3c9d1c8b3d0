"""Concrete sub-networks drawn from a spike-and-slab ensemble.

Every network gets its own ``numpy.random.SeedSequence`` child, spawned in
network order from one root, so the draws do not depend on how the networks
are split among joblib workers.
"""

from numbers import Integral

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.utils._param_validation import Interval

from . import _kernels, _network, _threads

# Constraint of every n_jobs parameter. joblib rejects 0 only when it runs,
# so validation rejects it up front.
N_JOBS_CONSTRAINT = [
    Interval(Integral, None, -1, closed="right"),
    Interval(Integral, 1, None, closed="left"),
    None,
]


def network_seeds(entropy, n_networks):
    """Return one independent seed sequence per network."""
    return np.random.SeedSequence(entropy).spawn(n_networks)


def draw_network(pi, m, xi, seed):
    """Return the weights of one concrete network, scaled by ``1/sqrt(n_in)``.

    The scaled weights play the role of ``MLPClassifier.coefs_``.
    """
    rng = np.random.default_rng(seed)
    coefs = []
    for p, w, v in zip(pi, m, xi):
        mu_scale, _ = _network.scales(p.shape[0])
        out = np.empty_like(p)
        _kernels.sample_synapses(p, w, v, mu_scale, rng, out)
        coefs.append(out)
    return coefs


def _predict_networks(pi, m, xi, intercepts, X, activation_code, seeds):
    """Return the output probabilities of each network in ``seeds``.

    BLAS and numba use one thread here, because the parallelism is across
    the networks. The thread counts are restored afterwards.
    """
    with _threads.one_blas_thread(), _kernels.numba_threads(1):
        probas = []
        for seed in seeds:
            coefs = draw_network(pi, m, xi, seed)
            coefs = [c.astype(X.dtype, copy=False) for c in coefs]
            probas.append(
                _network.predict_mean_field(coefs, intercepts, X, activation_code)
            )
    return probas


def predict_networks(pi, m, xi, intercepts, X, activation_code, seeds, n_jobs):
    """Return the output probabilities of every drawn network, in seed order.

    The networks are split into contiguous chunks, one per joblib worker,
    and every network runs with one BLAS thread. The parallelism is across
    networks, and the results are bit for bit the same for every
    ``n_jobs``: a matrix product split among a different number of threads
    may round differently.

    Returns
    -------
    probas : ndarray of shape (n_networks, n_samples, n_outputs)
    """
    n_workers = min(effective_n_jobs(n_jobs), len(seeds))
    chunks = [list(chunk) for chunk in np.array_split(np.array(seeds), n_workers)]
    intercepts = [b.astype(X.dtype, copy=False) for b in intercepts]
    # Threads share X without copies; the kernels and BLAS release the GIL.
    # The BLAS limit is set here, once for all threads, because it is
    # global to the process.
    with _threads.one_blas_thread():
        results = Parallel(n_jobs=n_workers, prefer="threads")(
            delayed(_predict_networks)(
                pi, m, xi, intercepts, X, activation_code, chunk
            )
            for chunk in chunks
        )
    return np.stack([proba for chunk in results for proba in chunk])
