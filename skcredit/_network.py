"""Mean-field forward and backward passes over a whole spike-and-slab network.

The passes follow Li and Huang, "Learning credit assignment", Phys. Rev.
Lett. 125, 178301 (2020). For a layer with input ``H`` (n, n_in), the
pre-activation of the ensemble is Gaussian with mean ``G = H @ mu / sqrt(n_in)``
and variance ``D = (H * H) @ var / n_in``, and one sample of it is
``Z = G + sqrt(D + ETA) * noise``. The matrix products run in NumPy (BLAS)
into the buffers of a :class:`Workspace`; the elementwise steps run in the
kernels of :mod:`skcredit._kernels`.

A network is described by four lists with one entry per layer: ``pi``, ``m``
and ``xi`` of shape (n_in, n_out), and ``intercepts`` of shape (n_out,).
"""

import numpy as np
import scipy.sparse as sp

from . import _kernels


# Number of row shards of every training batch. It is fixed, not taken from
# the number of cores, so that a fit gives the same model on any machine
# with the same BLAS. Two shards use the two cores of a small machine.
N_SHARDS = 2


class Workspace:
    """Preallocated buffers for batches of up to ``batch_size`` samples.

    A batch is split into ``n_shards`` shards of contiguous rows (see
    :meth:`shard_slices`), and each shard has its own activation buffers in
    ``shards``, so that the shards can run their forward and backward passes
    in parallel threads. All shards share the moments ``mu`` and ``var``.
    The gradients have one leading entry per shard, and the optimizer step
    adds them up.

    Parameters
    ----------
    layer_units : list of int
        Widths of all layers, input first.
    batch_size : int
        Largest batch the buffers fit; smaller batches use their first rows.
    dtype : numpy dtype
        Floating point type of the data and the parameters.
    n_shards : int, default=1
        Number of shards a batch is split into.
    """

    def __init__(self, layer_units, batch_size, dtype, n_shards=1):
        fan_in = layer_units[:-1]
        fan_out = layer_units[1:]
        self.batch_size = batch_size
        self.n_shards = n_shards
        self.dtype = np.dtype(dtype)
        shard_size = -(-batch_size // n_shards)
        self.shards = [
            BatchBuffers(layer_units, shard_size, dtype) for _ in range(n_shards)
        ]

        def stacked(shape):
            return np.empty((n_shards, *shape), dtype=dtype)

        # Scaled moments of the current parameters. The training loop's Adam
        # step refreshes them, and anything else that changes the parameters
        # must set moments_current to False.
        self.mu = [np.empty((a, b), dtype=dtype) for a, b in zip(fan_in, fan_out)]
        self.var = [np.empty_like(mu) for mu in self.mu]
        self.moments_current = False
        self.scales = [scales(n_in) for n_in in fan_in]
        self.grad_mu = [stacked(mu.shape) for mu in self.mu]
        self.grad_var = [stacked(mu.shape) for mu in self.mu]
        self.grad_intercept = [stacked((b,)) for b in fan_out]
        # The same arrays as tuples, the form the numba pass takes.
        self.moments = (tuple(self.mu), tuple(self.var))
        self.shard_gradients = [
            tuple(
                tuple(grad[shard] for grad in grads)
                for grads in (self.grad_mu, self.grad_var, self.grad_intercept)
            )
            for shard in range(n_shards)
        ]

    def shard_slices(self, n_samples):
        """Split ``range(n_samples)`` into ``n_shards`` contiguous slices.

        Every slice but the last has ``ceil(n_samples / n_shards)`` rows. The
        last ones may be shorter or empty. The split depends on
        ``n_samples`` only, never on the number of threads.
        """
        size = -(-n_samples // self.n_shards)
        return [
            slice(min(s * size, n_samples), min((s + 1) * size, n_samples))
            for s in range(self.n_shards)
        ]

    def refresh_moments(self, pi, m, xi):
        """Compute ``mu`` and ``var`` from the parameters unless current."""
        if self.moments_current:
            return
        for layer, (mu_scale, var_scale) in enumerate(self.scales):
            _kernels.spike_slab_moments(
                pi[layer], m[layer], xi[layer], mu_scale, var_scale,
                self.mu[layer], self.var[layer],
            )
        self.moments_current = True


class BatchBuffers:
    """Activation buffers of one shard of up to ``n_rows`` samples."""

    def __init__(self, layer_units, n_rows, dtype):
        fan_out = layer_units[1:]

        def rows(width):
            return np.empty((n_rows, width), dtype=dtype)

        self.dtype = np.dtype(dtype)
        # Forward: pre-activation mean, then activation, then dL/dZ (output).
        self.z = [rows(b) for b in fan_out]
        # Forward: pre-activation variance, then the noise factor, then dL/dD.
        self.variance = [rows(b) for b in fan_out]
        self.squared = [rows(b) for b in fan_out[:-1]]
        self.noise = [rows(b) for b in fan_out]
        # The shard's rows of the input and their squares (dense input).
        self.inputs = rows(layer_units[0])
        self.input_squared = rows(layer_units[0])
        # Backward: dL/dZ of the hidden layers and a scratch buffer for the
        # variance part of dL/dH.
        self.delta = [rows(b) for b in fan_out[:-1]]
        self.scratch = [rows(b) for b in fan_out[:-1]]
        # The buffers as tuples, the form the numba pass takes. A network
        # without hidden layers gets a placeholder, because numba cannot
        # type an empty tuple of arrays.
        placeholder = (rows(0),)
        self.noise_arrays = tuple(self.noise)
        self.kernel_buffers = (
            tuple(self.z), tuple(self.variance), self.noise_arrays,
            tuple(self.squared) or placeholder, tuple(self.delta) or placeholder,
            tuple(self.scratch) or placeholder,
        )

    def draw_noise(self, rng, n_samples):
        """Fill the noise of the next ``n_samples`` rows with N(0, 1) draws."""
        _kernels.standard_normal_rows(rng, self.noise_arrays, n_samples)


def scales(n_in):
    """Return the factors of the mean and the variance for a fan-in."""
    return 1.0 / np.sqrt(n_in), 1.0 / n_in


def gather_rows(X, rows, buffers):
    """Return ``X[rows]`` and its square, in the buffers of a shard if dense.

    ``buffers`` is the :class:`BatchBuffers` of the shard.
    """
    if sp.issparse(X):
        X_rows = X[rows]
        return X_rows, X_rows.power(2)
    n = rows.shape[0]
    out = buffers.inputs[:n]
    squared = buffers.input_squared[:n]
    _kernels.gather_square(X, rows, out, squared)
    return out, squared


def forward_backward(pi, m, xi, intercepts, X, X_squared, y, sample_weight,
                     weight_sum, activation_code, work, shard=0,
                     intercept_grad=True):
    """Run one noisy forward pass and the backward pass on a shard of rows.

    ``X`` contains the rows of shard ``shard`` of the batch (all of it when
    the workspace has one shard), and the shard's noise must already be in
    ``work.shards[shard].noise``. ``weight_sum`` is the total sample weight
    of the whole batch, so that the shards' losses and gradients add up to
    those of the batch. The moments are computed from ``(pi, m, xi)``
    unless ``work.moments_current`` is True. Shards that run in parallel
    need them computed beforehand with :meth:`Workspace.refresh_moments`.
    The intercept gradients are computed only when ``intercept_grad`` is
    True.

    On return ``work.grad_mu[layer][shard]`` and
    ``work.grad_var[layer][shard]`` contain the shard's unscaled products
    ``H.T @ dL/dZ`` and ``(H * H).T @ dL/dD`` per layer, the intercept
    gradients are in ``work.grad_intercept[layer][shard]``, and
    :func:`layer_deltas` returns the shard's ``dL/dZ`` and ``dL/dD`` of
    every layer.

    Returns
    -------
    loss : float
        The shard's part of the weighted mean cross-entropy of the batch,
        without the L2 term.
    """
    n = X.shape[0]
    buffers = work.shards[shard]
    work.refresh_moments(pi, m, xi)
    sparse = sp.issparse(X)
    if sparse:
        # The numba pass takes dense arrays only, so the products with a
        # sparse input are made here, by scipy.
        buffers.z[0][:n] = X @ work.mu[0]
        buffers.variance[0][:n] = X_squared @ work.var[0]
        X_dense = X_squared_dense = buffers.inputs[:0]
    else:
        X_dense = np.ascontiguousarray(X, dtype=work.dtype)
        X_squared_dense = np.ascontiguousarray(X_squared, dtype=work.dtype)
    grad_mu, grad_var, grad_intercept = work.shard_gradients[shard]
    loss = _kernels.forward_backward_pass(
        X_dense, X_squared_dense, y, sample_weight, weight_sum,
        activation_code, *work.moments, tuple(intercepts),
        buffers.kernel_buffers, grad_mu, grad_var, grad_intercept,
        not sparse, intercept_grad,
    )
    if sparse:
        delta, gamma = layer_deltas(work, 0, n, shard)
        grad_mu[0][...] = X.T @ delta
        grad_var[0][...] = X_squared.T @ gamma
    return loss


def layer_deltas(work, layer, n_samples, shard=0):
    """Return the buffers of ``dL/dZ`` and ``dL/dD`` of a layer and shard.

    They hold these gradients once the backward pass has reached the layer.
    """
    buffers = work.shards[shard]
    if layer == len(buffers.z) - 1:
        delta = buffers.z[layer][:n_samples]
    else:
        delta = buffers.delta[layer][:n_samples]
    return delta, buffers.variance[layer][:n_samples]


def input_gradient(X, work):
    """Return ``dL/dX`` after :func:`forward_backward` on a dense ``X``.

    The workspace must have one shard.
    """
    delta, gamma = layer_deltas(work, 0, X.shape[0])
    mean_part = delta @ work.mu[0].T
    variance_part = gamma @ work.var[0].T
    out = np.empty_like(X)
    _kernels.input_gradient(mean_part, variance_part, X, out)
    return out


def synapse_gradients(pi, m, xi, work, l2):
    """Return the gradients of ``pi``, ``m`` and ``xi`` after a backward pass.

    The gradients of the shards are summed. ``l2 * m`` is added to the
    gradient of ``m``. The training loop does not call this: it fuses the
    same chain rule with the Adam step.
    """
    grads = []
    for layer in range(len(pi)):
        mu_scale, var_scale = scales(pi[layer].shape[0])
        grad = [np.empty_like(pi[layer]) for _ in range(3)]
        _kernels.synapse_gradients(
            pi[layer], m[layer], xi[layer],
            work.grad_mu[layer].sum(axis=0), work.grad_var[layer].sum(axis=0),
            mu_scale, var_scale, l2, *grad,
        )
        grads.append(tuple(grad))
    return grads


def mean_network_coefs(pi, m):
    """Return the weights ``mu / sqrt(n_in)`` of the mean network per layer."""
    coefs = []
    for p, w in zip(pi, m):
        mu_scale, _ = scales(p.shape[0])
        coefs.append((mu_scale * (1.0 - p) * w).astype(p.dtype, copy=False))
    return coefs


def predict_mean_field(coefs, intercepts, X, activation_code):
    """Return the output probabilities of the deterministic mean network.

    With one output unit the result has one column, the probability of the
    positive class.
    """
    hidden = X
    for layer, (coef, intercept) in enumerate(zip(coefs, intercepts)):
        z = np.asarray(hidden @ coef)
        if layer < len(coefs) - 1:
            _kernels.activate_inplace(z, intercept, activation_code)
        else:
            _kernels.output_proba_inplace(z, intercept)
        hidden = z
    return hidden
