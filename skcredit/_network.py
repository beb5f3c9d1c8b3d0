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


class Workspace:
    """Preallocated buffers for batches of up to ``batch_size`` samples.

    Parameters
    ----------
    layer_units : list of int
        Widths of all layers, input first.
    batch_size : int
        Largest batch the buffers fit; smaller batches use their first rows.
    dtype : numpy dtype
        Floating point type of the data and the parameters.
    """

    def __init__(self, layer_units, batch_size, dtype):
        fan_in = layer_units[:-1]
        fan_out = layer_units[1:]
        n = batch_size
        self.batch_size = batch_size
        self.dtype = np.dtype(dtype)

        def rows(width):
            return np.empty((n, width), dtype=dtype)

        def matrices():
            return [np.empty((a, b), dtype=dtype) for a, b in zip(fan_in, fan_out)]

        # Forward: pre-activation mean, then activation, then dL/dZ (output).
        self.z = [rows(b) for b in fan_out]
        # Forward: pre-activation variance, then the noise factor, then dL/dD.
        self.variance = [rows(b) for b in fan_out]
        self.squared = [rows(b) for b in fan_out[:-1]]
        self.noise = [rows(b) for b in fan_out]
        self.input_squared = rows(fan_in[0])
        # Backward: dL/dZ of the hidden layers and a scratch buffer for the
        # variance part of dL/dH.
        self.delta = [rows(b) for b in fan_out[:-1]]
        self.scratch = [rows(b) for b in fan_out[:-1]]

        # Scaled moments of the current parameters; the training loop's Adam
        # step refreshes them, anything else that changes the parameters
        # must set moments_current to False.
        self.mu = matrices()
        self.var = matrices()
        self.moments_current = False
        self.scales = [scales(n_in) for n_in in fan_in]
        self.grad_mu = matrices()
        self.grad_var = matrices()
        self.grad_intercept = [np.empty(b, dtype=dtype) for b in fan_out]

    def draw_noise(self, rng, n_samples):
        """Fill the noise of the next ``n_samples`` rows with N(0, 1) draws."""
        for noise in self.noise:
            rng.standard_normal(dtype=self.dtype, out=noise[:n_samples])


def scales(n_in):
    """Return the factors of the mean and the variance for a fan-in."""
    return 1.0 / np.sqrt(n_in), 1.0 / n_in


def square_input(X, work):
    """Return ``X * X``, in a workspace buffer when ``X`` is dense."""
    if sp.issparse(X):
        return X.power(2)
    out = work.input_squared[: X.shape[0]]
    np.square(X, out=out)
    return out


def _product(left, right, out):
    """Write ``left @ right`` into ``out`` for a dense or sparse ``left``."""
    if sp.issparse(left):
        out[...] = left @ right
    else:
        np.matmul(left, right, out=out)


def forward_backward(pi, m, xi, intercepts, X, X_squared, y, sample_weight,
                     weight_sum, activation_code, work, intercept_grad=True):
    """Run one noisy forward pass and the backward pass on a batch.

    The noise must already be in ``work.noise``. The moments are computed
    from ``(pi, m, xi)`` unless ``work.moments_current`` is True. The
    intercept gradients are computed only when ``intercept_grad`` is True.
    On return the workspace
    contains the moments used (``mu``, ``var``), the unscaled products
    ``grad_mu = H.T @ dL/dZ`` and ``grad_var = (H * H).T @ dL/dD`` per layer
    and the intercept gradients, and :func:`layer_deltas` returns the
    buffers of ``dL/dZ`` and ``dL/dD`` of every layer.

    Returns
    -------
    loss : float
        Weighted mean cross-entropy of the batch, without the L2 term.
    """
    n = X.shape[0]
    n_layers = len(pi)

    # Forward pass, layer by layer.
    inputs, inputs_squared = X, X_squared
    for layer in range(n_layers):
        mu_scale, var_scale = work.scales[layer]
        mu, var = work.mu[layer], work.var[layer]
        if not work.moments_current:
            _kernels.spike_slab_moments(
                pi[layer], m[layer], xi[layer], mu_scale, var_scale, mu, var
            )
        z = work.z[layer][:n]
        variance = work.variance[layer][:n]
        _product(inputs, mu, z)
        _product(inputs_squared, var, variance)
        noise = work.noise[layer][:n]
        if layer < n_layers - 1:
            squared = work.squared[layer][:n]
            _kernels.forward_hidden(
                z, variance, noise, intercepts[layer], activation_code, squared
            )
            inputs, inputs_squared = z, squared
        else:
            loss = _kernels.forward_output(
                z, variance, noise, intercepts[layer], y, sample_weight,
                weight_sum,
            )

    # Backward pass: dL/dZ and dL/dD of each layer give its moment gradients
    # and, through its moments, dL/dZ and dL/dD of the layer below.
    for layer in range(n_layers - 1, -1, -1):
        delta, gamma = layer_deltas(work, layer, n)
        if layer > 0:
            inputs = work.z[layer - 1][:n]
            inputs_squared = work.squared[layer - 1][:n]
        else:
            inputs, inputs_squared = X, X_squared
        _product(inputs.T, delta, work.grad_mu[layer])
        _product(inputs_squared.T, gamma, work.grad_var[layer])
        if intercept_grad:
            np.sum(delta, axis=0, out=work.grad_intercept[layer])
        if layer > 0:
            below = work.delta[layer - 1][:n]
            scratch = work.scratch[layer - 1][:n]
            np.matmul(delta, work.mu[layer].T, out=below)
            np.matmul(gamma, work.var[layer].T, out=scratch)
            _kernels.backward_hidden(
                below, scratch, inputs, work.variance[layer - 1][:n],
                activation_code,
            )
    work.moments_current = True
    return loss


def layer_deltas(work, layer, n_samples):
    """Return the buffers of ``dL/dZ`` and ``dL/dD`` of a layer.

    They hold these gradients once the backward pass has reached the layer.
    """
    if layer == len(work.z) - 1:
        delta = work.z[layer][:n_samples]
    else:
        delta = work.delta[layer][:n_samples]
    return delta, work.variance[layer][:n_samples]


def input_gradient(X, work):
    """Return ``dL/dX`` after :func:`forward_backward` on a dense ``X``."""
    delta, gamma = layer_deltas(work, 0, X.shape[0])
    mean_part = delta @ work.mu[0].T
    variance_part = gamma @ work.var[0].T
    out = np.empty_like(X)
    _kernels.input_gradient(mean_part, variance_part, X, out)
    return out


def synapse_gradients(pi, m, xi, work, l2):
    """Return the gradients of ``pi``, ``m`` and ``xi`` after a backward pass.

    ``l2 * m`` is added to the gradient of ``m``. The training loop does not
    call this: it fuses the same chain rule with the Adam step.
    """
    grads = []
    for layer in range(len(pi)):
        mu_scale, var_scale = scales(pi[layer].shape[0])
        grad = [np.empty_like(pi[layer]) for _ in range(3)]
        _kernels.synapse_gradients(
            pi[layer], m[layer], xi[layer],
            work.grad_mu[layer], work.grad_var[layer],
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
