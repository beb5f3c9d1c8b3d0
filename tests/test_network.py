"""Gradient and optimizer checks of the mean-field network internals."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from skcredit import _kernels, _network

ACTIVATIONS = sorted(_kernels.ACTIVATION_CODES)


def _make_network(layer_units, rng):
    """Return ``(pi, m, xi, intercepts)`` away from the projection bounds."""
    shapes = list(zip(layer_units[:-1], layer_units[1:]))
    pi = [rng.uniform(0.1, 0.9, s) for s in shapes]
    m = [rng.normal(0.0, 1.0, s) for s in shapes]
    xi = [rng.uniform(0.1, 1.0, s) for s in shapes]
    intercepts = [rng.normal(0.0, 0.3, s[1]) for s in shapes]
    return pi, m, xi, intercepts


class _Problem:
    """A tiny batch with fixed noise, and its loss as a function of everything."""

    def __init__(self, activation, n_classes, seed=0):
        rng = np.random.default_rng(seed)
        self.n_samples = 6
        n_outputs = 1 if n_classes == 2 else n_classes
        self.layer_units = [5, 4, 3, n_outputs]
        self.code = _kernels.ACTIVATION_CODES[activation]
        self.X = rng.uniform(-1.0, 1.0, (self.n_samples, 5))
        self.y = rng.integers(0, n_classes, self.n_samples).astype(np.intp)
        self.weight = rng.uniform(0.5, 2.0, self.n_samples)
        self.alpha = 0.3
        self.params = _make_network(self.layer_units, rng)
        self.work = _network.Workspace(self.layer_units, self.n_samples, np.float64)
        self.noise = [rng.standard_normal(n.shape) for n in self.work.shards[0].noise]

    def loss(self, X=None):
        """Run forward and backward; return the loss including the L2 term."""
        X = self.X if X is None else X
        for buffer, noise in zip(self.work.shards[0].noise, self.noise):
            buffer[...] = noise
        pi, m, xi, intercepts = self.params
        weight_sum = self.weight.sum()
        self.work.moments_current = False
        loss = _network.forward_backward(
            pi, m, xi, intercepts, X, X * X, self.y, self.weight, weight_sum,
            self.code, self.work,
        )
        penalty = sum(np.sum(w * w) for w in m)
        return loss + 0.5 * self.alpha * penalty / weight_sum

    def analytic_gradients(self):
        self.loss()
        pi, m, xi, _ = self.params
        l2 = self.alpha / self.weight.sum()
        synapses = _network.synapse_gradients(pi, m, xi, self.work, l2)
        intercepts = [g.sum(axis=0) for g in self.work.grad_intercept]
        inputs = _network.input_gradient(self.X, self.work)
        return synapses, intercepts, inputs


def _numeric_gradient(loss, array, step=1e-6):
    """Central finite differences of ``loss()`` over every entry of ``array``."""
    grad = np.empty_like(array)
    for index in np.ndindex(array.shape):
        saved = array[index]
        array[index] = saved + step
        upper = loss()
        array[index] = saved - step
        lower = loss()
        array[index] = saved
        grad[index] = (upper - lower) / (2 * step)
    return grad


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_synapse_gradients_match_finite_differences(activation, n_classes):
    problem = _Problem(activation, n_classes)
    synapses, _, _ = problem.analytic_gradients()
    pi, m, xi, _ = problem.params
    for layer in range(len(pi)):
        grad_pi, grad_m, grad_xi = synapses[layer]
        for name, array, analytic in (
            ("pi", pi[layer], grad_pi),
            ("m", m[layer], grad_m),
            ("xi", xi[layer], grad_xi),
        ):
            numeric = _numeric_gradient(problem.loss, array)
            assert_allclose(
                analytic, numeric, rtol=1e-5, atol=1e-8,
                err_msg=f"dL/d{name} of layer {layer}, {activation}",
            )


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_input_gradient_matches_finite_differences(activation, n_classes):
    problem = _Problem(activation, n_classes, seed=1)
    _, _, analytic = problem.analytic_gradients()
    X = problem.X.copy()
    numeric = _numeric_gradient(lambda: problem.loss(X), X)
    assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_intercept_gradients_match_finite_differences(activation):
    problem = _Problem(activation, n_classes=3, seed=2)
    _, analytic, _ = problem.analytic_gradients()
    for layer, intercept in enumerate(problem.params[3]):
        numeric = _numeric_gradient(problem.loss, intercept)
        assert_allclose(analytic[layer], numeric, rtol=1e-5, atol=1e-8)


def test_duplicated_sample_equals_weight_two():
    """A weight of 2 contributes to the gradients as two copies of a sample."""
    problem = _Problem("tanh", n_classes=3, seed=3)
    problem.weight = np.ones(problem.n_samples)
    problem.weight[0] = 2.0
    weighted, weighted_intercepts, _ = problem.analytic_gradients()

    duplicated = _Problem("tanh", n_classes=3, seed=3)
    rows = np.r_[0, np.arange(problem.n_samples)]
    duplicated.n_samples += 1
    duplicated.X = problem.X[rows]
    duplicated.y = problem.y[rows]
    duplicated.weight = np.ones(duplicated.n_samples)
    duplicated.noise = [noise[rows] for noise in problem.noise]
    duplicated.work = _network.Workspace(
        duplicated.layer_units, duplicated.n_samples, np.float64
    )
    expected, expected_intercepts, _ = duplicated.analytic_gradients()

    assert_allclose(problem.loss(), duplicated.loss(), rtol=1e-12)
    for layer in range(len(weighted)):
        for got, want in zip(weighted[layer], expected[layer]):
            assert_allclose(got, want, rtol=1e-10, atol=1e-14)
        assert_allclose(
            weighted_intercepts[layer], expected_intercepts[layer], rtol=1e-10
        )


def test_shards_add_up_to_the_whole_batch():
    """Two shards of a batch give the loss and gradients of the batch."""
    problem = _Problem("relu", n_classes=3, seed=5)
    problem.n_samples = 7
    rng = np.random.default_rng(6)
    problem.X = rng.uniform(-1.0, 1.0, (7, 5))
    problem.y = rng.integers(0, 3, 7).astype(np.intp)
    problem.weight = rng.uniform(0.5, 2.0, 7)
    problem.work = _network.Workspace(problem.layer_units, 7, np.float64)
    problem.noise = [rng.standard_normal(n.shape) for n in problem.work.shards[0].noise]
    expected_loss = problem.loss()
    expected, expected_intercepts, _ = problem.analytic_gradients()

    pi, m, xi, intercepts = problem.params
    work = _network.Workspace(problem.layer_units, 7, np.float64, n_shards=2)
    slices = work.shard_slices(7)
    assert [(s.start, s.stop) for s in slices] == [(0, 4), (4, 7)]
    weight_sum = problem.weight.sum()
    loss = 0.0
    for shard, rows in enumerate(slices):
        for buffer, noise in zip(work.shards[shard].noise, problem.noise):
            buffer[: rows.stop - rows.start] = noise[rows]
        X = problem.X[rows]
        loss += _network.forward_backward(
            pi, m, xi, intercepts, X, X * X, problem.y[rows],
            problem.weight[rows], weight_sum, problem.code, work, shard,
        )
    penalty = sum(np.sum(w * w) for w in m)
    assert_allclose(loss + 0.5 * problem.alpha * penalty / weight_sum,
                    expected_loss, rtol=1e-12)
    l2 = problem.alpha / weight_sum
    for layer, grads in enumerate(_network.synapse_gradients(pi, m, xi, work, l2)):
        for got, want in zip(grads, expected[layer]):
            assert_allclose(got, want, rtol=1e-10, atol=1e-14)
        assert_allclose(work.grad_intercept[layer].sum(axis=0),
                        expected_intercepts[layer], rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("layer_units", [[6, 3], [6, 4, 3, 3]])
def test_sparse_input_matches_dense_pass(layer_units):
    """CSR input, whose first-layer products scipy computes, matches dense input."""
    rng = np.random.default_rng(7)
    X = rng.uniform(0.0, 1.0, (5, 6))
    X[X < 0.5] = 0.0
    y = rng.integers(0, 3, 5).astype(np.intp)
    weight = rng.uniform(0.5, 2.0, 5)
    pi, m, xi, intercepts = _make_network(layer_units, rng)
    results = []
    for data in (X, sp.csr_matrix(X)):
        work = _network.Workspace(layer_units, 5, np.float64)
        for buffer in work.shards[0].noise:
            buffer[...] = np.random.default_rng(8).standard_normal(buffer.shape)
        squared = data.power(2) if sp.issparse(data) else data * data
        loss = _network.forward_backward(
            pi, m, xi, intercepts, data, squared, y, weight, weight.sum(),
            _kernels.ACTIVATION_CODES["relu"], work,
        )
        results.append((loss, work))
    (dense_loss, dense), (sparse_loss, sparse) = results
    assert sparse_loss == pytest.approx(dense_loss, rel=1e-12)
    for name in ("grad_mu", "grad_var", "grad_intercept"):
        for got, want in zip(getattr(sparse, name), getattr(dense, name)):
            assert_allclose(got, want, rtol=1e-10, atol=1e-14)


def test_shard_slices_leave_late_shards_empty():
    work = _network.Workspace([3, 2, 2], batch_size=5, dtype=np.float64, n_shards=2)
    assert [(s.start, s.stop) for s in work.shard_slices(1)] == [(0, 1), (1, 1)]
    assert [(s.start, s.stop) for s in work.shard_slices(5)] == [(0, 3), (3, 5)]


@pytest.mark.parametrize(
    "shard_fractions", [[1.0], [0.25, 0.75], [0.2, 0.3, 0.5]]
)
def test_adam_kernel_matches_reference_with_projection(shard_fractions):
    rng = np.random.default_rng(4)
    shape = (7, 5)
    pi = rng.uniform(0.0, 1.0, shape)
    pi[0, :2] = [0.0005, 0.9995]  # next to the bounds, so the clip acts
    m = rng.normal(size=shape)
    xi = rng.uniform(0.0, 0.002, shape)
    grad_mu = rng.normal(size=shape)
    grad_var = rng.normal(size=shape)
    mu_scale, var_scale, l2 = 0.4, 0.16, 0.05
    beta_1, beta_2, epsilon, step = 0.9, 0.999, 1e-8, 0.01
    first = rng.normal(size=(3, *shape))
    second = rng.uniform(0.0, 1.0, (3, *shape))
    mu = np.empty(shape)
    var = np.empty(shape)

    # Reference: the chain rule and a plain NumPy Adam step with projection.
    q = 1.0 - pi
    g_mu = mu_scale * grad_mu
    g_var = var_scale * grad_var
    grads = [
        -m * g_mu + ((1 - 2 * pi) * m**2 - xi) * g_var,
        q * g_mu + 2 * pi * q * m * g_var + l2 * m,
        q * g_var,
    ]
    expected = []
    expected_first = beta_1 * first + (1 - beta_1) * np.stack(grads)
    expected_second = beta_2 * second + (1 - beta_2) * np.stack(grads) ** 2
    for k, value in enumerate((pi, m, xi)):
        update = step * expected_first[k] / (np.sqrt(expected_second[k]) + epsilon)
        expected.append(value - update)
    expected[0] = np.clip(expected[0], 0.0, 1.0)
    expected[2] = np.maximum(expected[2], 0.0)

    # The gradients arrive as shards that the kernel adds up. The rows are
    # updated in two calls, as two threads do.
    grad_mu_shards = np.stack([share * grad_mu for share in shard_fractions])
    grad_var_shards = np.stack([share * grad_var for share in shard_fractions])
    for start, stop in [(0, 3), (3, shape[0])]:
        _kernels.adam_spike_slab(
            pi, m, xi, grad_mu_shards, grad_var_shards, mu_scale, var_scale,
            l2, step, beta_1, beta_2, epsilon, first, second, mu, var,
            start, stop,
        )
    assert_allclose(pi, expected[0], rtol=1e-12)
    assert_allclose(m, expected[1], rtol=1e-12)
    assert_allclose(xi, expected[2], rtol=1e-12, atol=1e-15)
    assert_allclose(first, expected_first, rtol=1e-12)
    assert_allclose(second, expected_second, rtol=1e-12)
    # The moments of the new parameters, ready for the next batch.
    q = 1.0 - expected[0]
    assert_allclose(mu, mu_scale * q * expected[1], rtol=1e-12)
    assert_allclose(
        var, var_scale * (q * expected[2] + expected[0] * q * expected[1] ** 2),
        rtol=1e-12, atol=1e-15,
    )
    # The projection reached both bounds on this data.
    assert (pi == 0.0).any() or (pi == 1.0).any()
    assert (xi == 0.0).any()


@pytest.mark.parametrize("layout", ["C", "F", "csr"])
def test_gather_rows_returns_rows_and_squares(layout):
    X = np.random.default_rng(0).normal(size=(9, 4)).astype(np.float32)
    rows = np.array([7, 2, 2, 0])
    data = sp.csr_matrix(X) if layout == "csr" else np.asarray(X, order=layout)
    buffers = _network.BatchBuffers([4, 3, 2], n_rows=5, dtype=np.float32)
    gathered, squared = _network.gather_rows(data, rows, buffers)
    if layout == "csr":
        gathered, squared = gathered.toarray(), squared.toarray()
    assert_array_equal(gathered, X[rows])
    assert_array_equal(squared, X[rows] ** 2)
    assert gathered.dtype == np.float32
