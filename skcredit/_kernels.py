"""Numba kernels for the elementwise work of the mean-field network.

Every kernel works in place on arrays that the caller allocated, so that the
training loop reuses the same buffers batch after batch. The matrix products
stay outside, in NumPy (BLAS). Arrays are C-contiguous and two-dimensional
unless a docstring states otherwise. ``n`` is the batch size, and ``n_in``
and ``n_out`` are the widths of a layer's input and output.

Kernels compiled with ``parallel=True`` split independent rows or synapses
among numba's threads; no thread combines results of another, so every
kernel gives the same output bit for bit for any number of threads. The
kernels that sum over samples (the loss) stay serial for the same reason.
``parallel=True`` also lets the compiler vectorize the loops, which it does
not do for the serial versions of these kernels (measured with numba 0.68).

The training kernels cast their scalar arguments and constants to the type
of their arrays, so that float32 data is computed in float32 throughout
(NumPy's rules would promote it to float64 next to a Python float) and
vectorizes twice as wide. All kernels release the GIL.

NOTE: numba's ``workqueue`` threading layer, its fallback where neither
OpenMP nor TBB is available, aborts the process when ``parallel=True``
kernels run from several Python threads at once. The training loop then
runs its shards on one thread (see :func:`concurrent_kernels_supported`),
but fitting several estimators in parallel threads needs the ``omp`` or
``tbb`` layer (``pip install tbb``). Process-based parallelism, joblib's
default, is unaffected.

Activation codes: 0 identity, 1 logistic, 2 tanh, 3 relu (see
``ACTIVATION_CODES``).
"""

import math
from contextlib import contextmanager

import numba
import numpy as np
from numba import njit, prange

ACTIVATION_CODES = {"identity": 0, "logistic": 1, "tanh": 2, "relu": 3}


@contextmanager
def numba_threads(n_threads):
    """Run the enclosed code with at most ``n_threads`` numba threads.

    The previous thread count of the calling thread is restored on exit.
    """
    previous = numba.get_num_threads()
    numba.set_num_threads(max(1, min(n_threads, previous)))
    try:
        yield
    finally:
        numba.set_num_threads(previous)

def concurrent_kernels_supported():
    """Return whether parallel kernels may run from several threads at once.

    That holds for numba's ``omp`` and ``tbb`` threading layers, not for
    ``workqueue``. The layer is chosen when the first parallel kernel runs,
    so this runs a tiny one if none has run yet.
    """
    try:
        layer = numba.threading_layer()
    except ValueError:
        square = np.zeros((1, 1))
        spike_slab_moments(square, square, square, 1.0, 1.0,
                           np.empty((1, 1)), np.empty((1, 1)))
        layer = numba.threading_layer()
    return layer != "workqueue"


# Added to the pre-activation variance before its square root, so that the
# gradient with respect to the variance stays finite when the variance is 0.
ETA = 1e-8


@njit(inline="always")
def _activate(z, code):
    if code == 3:
        return z if z > 0.0 else 0.0
    if code == 2:
        return math.tanh(z)
    if code == 1:
        # Split by sign so that exp never overflows.
        if z >= 0.0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)
    return z


@njit(inline="always")
def _derivative_from_output(a, code):
    """Derivative of the activation, written in terms of its output ``a``."""
    if code == 3:
        return 1.0 if a > 0.0 else 0.0
    if code == 2:
        return 1.0 - a * a
    if code == 1:
        return a * (1.0 - a)
    return 1.0


@njit(inline="always")
def _synapse_gradients(pi, m, xi, grad_mu, grad_var, one, two):
    """Chain rule from the moments ``(mu, var)`` to ``(pi, m, xi)``.

    ``mu = (1 - pi) m`` and ``var = (1 - pi) xi + pi (1 - pi) m**2``.
    ``one`` and ``two`` are the constants in the parameters' type.
    """
    q = one - pi
    grad_m = q * grad_mu + two * pi * q * m * grad_var
    grad_xi = q * grad_var
    grad_pi = -m * grad_mu + ((one - two * pi) * m * m - xi) * grad_var
    return grad_pi, grad_m, grad_xi


@njit(cache=True, parallel=True, nogil=True)
def spike_slab_moments(pi, m, xi, mu_scale, var_scale, mu, var):
    """Write the scaled moments of every synapse of one layer.

    ``mu = mu_scale * (1 - pi) * m`` and
    ``var = var_scale * ((1 - pi) * xi + pi * (1 - pi) * m**2)``, all arrays
    of shape ``(n_in, n_out)``. The training loop passes
    ``mu_scale = 1 / sqrt(n_in)`` and ``var_scale = 1 / n_in`` so that the
    matrix products give the pre-activation mean and variance directly.
    """
    real = pi.dtype.type
    one = real(1.0)
    mu_scale = real(mu_scale)
    var_scale = real(var_scale)
    n_in, n_out = pi.shape
    for j in prange(n_in):
        for k in range(n_out):
            p = pi[j, k]
            q = one - p
            w = m[j, k]
            mu[j, k] = mu_scale * q * w
            var[j, k] = var_scale * (q * xi[j, k] + p * q * w * w)


@njit(cache=True, parallel=True, nogil=True)
def forward_hidden(z, variance, noise, intercept, code, squared):
    """Inject the ensemble noise into a hidden layer and apply its activation.

    On entry ``z`` (n, n_out) contains the pre-activation mean ``G`` and
    ``variance`` contains ``D``. On exit ``z`` contains the activation
    ``a = f(G + sqrt(D + ETA) * noise + intercept)``, ``squared`` contains
    ``a**2`` (the next layer's input for its variance) and ``variance``
    contains ``noise / (2 sqrt(D + ETA))``, the factor that turns the gradient
    with respect to ``Z`` into the gradient with respect to ``D``.
    """
    real = z.dtype.type
    eta = real(ETA)
    two = real(2.0)
    zero = real(0.0)
    n, n_out = z.shape
    for i in prange(n):
        for k in range(n_out):
            s = math.sqrt(variance[i, k] + eta)
            e = noise[i, k]
            z[i, k] = z[i, k] + s * e + intercept[k]
            variance[i, k] = e / (two * s)
        # One activation per row, so that the loops above and below have no
        # branch on the activation and vectorize.
        if code == 3:
            for k in range(n_out):
                z[i, k] = max(z[i, k], zero)
        elif code != 0:
            for k in range(n_out):
                z[i, k] = _activate(z[i, k], code)
        for k in range(n_out):
            squared[i, k] = z[i, k] * z[i, k]


@njit(cache=True, nogil=True)
def forward_output(z, variance, noise, intercept, y, sample_weight, weight_sum):
    """Finish the output layer: noise, softmax, loss and the first deltas.

    ``z`` and ``variance`` (n, n_out) hold ``G`` and ``D`` on entry. With one
    output unit the output is a logistic unit for a binary target (``y`` in
    {0, 1}); with more, a softmax over classes (``y`` the class index). The
    returned loss is ``sum_i w_i * CE_i / weight_sum``, summed in float64. On
    exit ``z`` contains ``delta = dL/dZ`` and ``variance`` contains
    ``gamma = dL/dD``.
    """
    real = z.dtype.type
    eta = real(ETA)
    two = real(2.0)
    n, n_out = z.shape
    total = 0.0
    for i in range(n):
        w = real(sample_weight[i] / weight_sum)
        # Noisy pre-activations, and the noise factor kept in ``variance``.
        for k in range(n_out):
            s = math.sqrt(variance[i, k] + eta)
            e = noise[i, k]
            z[i, k] = z[i, k] + s * e + intercept[k]
            variance[i, k] = e / (two * s)

        if n_out == 1:
            t = float(z[i, 0])
            label = float(y[i])
            # log(1 + exp(t)) - label * t, computed without overflow.
            if t > 0.0:
                softplus = t + math.log1p(math.exp(-t))
                p = 1.0 / (1.0 + math.exp(-t))
            else:
                softplus = math.log1p(math.exp(t))
                p = math.exp(t) / (1.0 + math.exp(t))
            total += sample_weight[i] * (softplus - label * t)
            delta = w * real(p - label)
            z[i, 0] = delta
            variance[i, 0] = delta * variance[i, 0]
            continue

        top = z[i, 0]
        for k in range(1, n_out):
            if z[i, k] > top:
                top = z[i, k]
        exp_sum = 0.0
        for k in range(n_out):
            exp_sum += math.exp(float(z[i, k] - top))
        log_norm = float(top) + math.log(exp_sum)
        total += sample_weight[i] * (log_norm - float(z[i, y[i]]))
        for k in range(n_out):
            p = math.exp(float(z[i, k]) - log_norm)
            if k == y[i]:
                p -= 1.0
            delta = w * real(p)
            z[i, k] = delta
            variance[i, k] = delta * variance[i, k]
    return total / weight_sum


@njit(cache=True, parallel=True, nogil=True)
def backward_hidden(delta, input_grad_var, activation, noise_factor, code):
    """Carry the gradient through a hidden layer's activation and noise.

    On entry ``delta`` (n, n_out) contains ``delta_next @ mu.T`` and
    ``input_grad_var`` contains ``gamma_next @ var.T`` (moments already scaled
    by ``1/sqrt(n_in)`` and ``1/n_in``), ``activation`` is this layer's output
    ``a`` and ``noise_factor`` is the factor left by :func:`forward_hidden`.
    On exit ``delta`` contains ``dL/dZ = (delta + 2 a input_grad_var) f'(a)``
    and ``noise_factor`` contains ``dL/dD = dL/dZ * noise_factor``.
    """
    real = delta.dtype.type
    two = real(2.0)
    n, n_out = delta.shape
    for i in prange(n):
        for k in range(n_out):
            a = activation[i, k]
            d = (delta[i, k] + two * a * input_grad_var[i, k]) * real(
                _derivative_from_output(a, code)
            )
            delta[i, k] = d
            noise_factor[i, k] = d * noise_factor[i, k]


@njit(cache=True, nogil=True)
def forward_backward_pass(X, X_squared, y, sample_weight, weight_sum, code,
                          mu, var, intercepts, buffers, grad_mu, grad_var,
                          grad_intercept, first_products, intercept_grad):
    """Run the noisy forward pass and the backward pass of one shard.

    Running the whole pass in one call saves about twenty calls from
    Python per shard. ``mu``, ``var`` and ``intercepts`` are tuples with
    one array per layer.
    ``buffers`` is the tuple ``(z, variance, noise, squared, delta,
    scratch)`` of the shard's activation buffers, of which the first
    ``len(y)`` rows are used. The noise must be drawn beforehand. The
    shard's gradients go into the tuples ``grad_mu``, ``grad_var`` and
    ``grad_intercept`` (the latter only when ``intercept_grad`` is True).

    When ``first_products`` is False, the first layer's products
    ``X @ mu[0]`` and ``X_squared @ var[0]`` must already be in
    ``z[0]`` and ``variance[0]``, and the first layer's weight gradients
    are left to the caller: this is how sparse input is handled. Otherwise
    ``X`` and ``X_squared`` are the dense input and its square.

    Return the shard's part of the weighted mean cross-entropy of the
    batch, as :func:`forward_output` does.
    """
    z, variance, noise, squared, delta, scratch = buffers
    n = y.shape[0]
    n_layers = len(mu)
    loss = 0.0

    # Forward pass, layer by layer.
    inputs = X[:n]
    inputs_squared = X_squared[:n]
    for layer in range(n_layers):
        z_layer = z[layer][:n]
        variance_layer = variance[layer][:n]
        if layer > 0 or first_products:
            np.dot(inputs, mu[layer], z_layer)
            np.dot(inputs_squared, var[layer], variance_layer)
        if layer < n_layers - 1:
            squared_layer = squared[layer][:n]
            forward_hidden(z_layer, variance_layer, noise[layer][:n],
                           intercepts[layer], code, squared_layer)
            inputs = z_layer
            inputs_squared = squared_layer
        else:
            loss = forward_output(z_layer, variance_layer, noise[layer][:n],
                                  intercepts[layer], y, sample_weight,
                                  weight_sum)

    # Backward pass: dL/dZ and dL/dD of each layer give its moment gradients
    # and, through its moments, dL/dZ and dL/dD of the layer below.
    for layer in range(n_layers - 1, -1, -1):
        if layer == n_layers - 1:
            delta_layer = z[layer][:n]
        else:
            delta_layer = delta[layer][:n]
        gamma = variance[layer][:n]
        if intercept_grad:
            total = grad_intercept[layer]
            total[:] = 0.0
            for i in range(n):
                for k in range(total.shape[0]):
                    total[k] += delta_layer[i, k]
        if layer == 0:
            if first_products:
                np.dot(X[:n].T, delta_layer, grad_mu[0])
                np.dot(X_squared[:n].T, gamma, grad_var[0])
            break
        inputs = z[layer - 1][:n]
        np.dot(inputs.T, delta_layer, grad_mu[layer])
        np.dot(squared[layer - 1][:n].T, gamma, grad_var[layer])
        below = delta[layer - 1][:n]
        below_var = scratch[layer - 1][:n]
        np.dot(delta_layer, mu[layer].T, below)
        np.dot(gamma, var[layer].T, below_var)
        backward_hidden(below, below_var, inputs, variance[layer - 1][:n], code)
    return loss


@njit(cache=True, nogil=True)
def gather_square(X, rows, out, squared):
    """Copy rows ``rows`` of ``X`` into ``out`` and their squares into ``squared``."""
    for i in range(rows.shape[0]):
        row = rows[i]
        for j in range(X.shape[1]):
            x = X[row, j]
            out[i, j] = x
            squared[i, j] = x * x


@njit(cache=True, nogil=True)
def input_gradient(delta, input_grad_var, inputs, out):
    """Write ``dL/dH = delta + 2 * H * input_grad_var`` for a layer input."""
    n, n_in = out.shape
    for i in range(n):
        for j in range(n_in):
            out[i, j] = delta[i, j] + 2.0 * inputs[i, j] * input_grad_var[i, j]


@njit(cache=True, nogil=True)
def synapse_gradients(pi, m, xi, grad_mu, grad_var, mu_scale, var_scale, l2,
                      grad_pi, grad_m, grad_xi):
    """Write the loss gradients with respect to ``pi``, ``m`` and ``xi``.

    ``grad_mu`` and ``grad_var`` are the unscaled products ``H.T @ delta`` and
    ``(H * H).T @ gamma``; ``l2 * m`` is added to the gradient of ``m``.
    """
    real = pi.dtype.type
    one = real(1.0)
    two = real(2.0)
    mu_scale = real(mu_scale)
    var_scale = real(var_scale)
    l2 = real(l2)
    n_in, n_out = pi.shape
    for j in range(n_in):
        for k in range(n_out):
            g_pi, g_m, g_xi = _synapse_gradients(
                pi[j, k], m[j, k], xi[j, k],
                mu_scale * grad_mu[j, k], var_scale * grad_var[j, k], one, two,
            )
            grad_pi[j, k] = g_pi
            grad_m[j, k] = g_m + l2 * m[j, k]
            grad_xi[j, k] = g_xi


@njit(inline="always")
def _adam_moments(first, second, grad, beta_1, beta_2, one):
    first = beta_1 * first + (one - beta_1) * grad
    second = beta_2 * second + (one - beta_2) * grad * grad
    return first, second


@njit(cache=True, parallel=True, nogil=True)
def adam_spike_slab(pi, m, xi, grad_mu, grad_var, mu_scale, var_scale, l2,
                    step, beta_1, beta_2, epsilon, first, second, mu, var,
                    start, stop):
    """Apply one projected Adam step to rows ``start:stop`` of one layer.

    ``grad_mu`` and ``grad_var`` (n_shards, n_in, n_out) are the moment
    gradients of the batch's shards, which are summed here. The gradients
    of ``(pi, m, xi)`` follow by the same chain rule as
    :func:`synapse_gradients`, computed and consumed in one pass. ``first``
    and ``second`` (3, n_in, n_out) are Adam's moment estimates for ``pi``,
    ``m`` and ``xi`` in that order. ``step`` is the bias-corrected learning
    rate. After the step ``pi`` is clipped to [0, 1] and ``xi`` to [0, inf),
    and ``mu`` and ``var`` receive the scaled moments of the new parameters,
    as :func:`spike_slab_moments` computes them, for the next batch. Rows
    are independent, so disjoint row ranges may run in parallel threads.
    """
    real = pi.dtype.type
    zero = real(0.0)
    one = real(1.0)
    two = real(2.0)
    mu_scale = real(mu_scale)
    var_scale = real(var_scale)
    l2 = real(l2)
    step = real(step)
    beta_1 = real(beta_1)
    beta_2 = real(beta_2)
    epsilon = real(epsilon)
    n_shards = grad_mu.shape[0]
    n_out = pi.shape[1]
    for j in prange(start, stop):
        # Beyond two shards, add the others up in the second one first, in
        # a loop of its own, so that both loops vectorize.
        for shard in range(2, n_shards):
            for k in range(n_out):
                grad_mu[1, j, k] += grad_mu[shard, j, k]
                grad_var[1, j, k] += grad_var[shard, j, k]
        for k in range(n_out):
            g_mu = grad_mu[0, j, k]
            g_var = grad_var[0, j, k]
            if n_shards > 1:
                g_mu += grad_mu[1, j, k]
                g_var += grad_var[1, j, k]
            p = pi[j, k]
            w = m[j, k]
            v = xi[j, k]
            g_pi, g_m, g_xi = _synapse_gradients(
                p, w, v, mu_scale * g_mu, var_scale * g_var, one, two,
            )
            g_m += l2 * w

            f, s = _adam_moments(first[0, j, k], second[0, j, k], g_pi,
                                 beta_1, beta_2, one)
            first[0, j, k] = f
            second[0, j, k] = s
            p -= step * f / (math.sqrt(s) + epsilon)

            f, s = _adam_moments(first[1, j, k], second[1, j, k], g_m,
                                 beta_1, beta_2, one)
            first[1, j, k] = f
            second[1, j, k] = s
            w -= step * f / (math.sqrt(s) + epsilon)

            f, s = _adam_moments(first[2, j, k], second[2, j, k], g_xi,
                                 beta_1, beta_2, one)
            first[2, j, k] = f
            second[2, j, k] = s
            v -= step * f / (math.sqrt(s) + epsilon)

            p = min(max(p, zero), one)
            v = max(v, zero)
            pi[j, k] = p
            m[j, k] = w
            xi[j, k] = v
            q = one - p
            mu[j, k] = mu_scale * q * w
            var[j, k] = var_scale * (q * v + p * q * w * w)


@njit(cache=True, nogil=True)
def adam_vector(param, grad, step, beta_1, beta_2, epsilon, first, second):
    """Apply one Adam step to a 1-D parameter such as an intercept.

    ``grad`` (n_shards, n) contains the gradients of the batch's shards,
    summed here in shard order.
    """
    real = param.dtype.type
    one = real(1.0)
    step = real(step)
    beta_1 = real(beta_1)
    beta_2 = real(beta_2)
    epsilon = real(epsilon)
    for k in range(param.shape[0]):
        g = grad[0, k]
        for shard in range(1, grad.shape[0]):
            g += grad[shard, k]
        f, s = _adam_moments(first[k], second[k], g, beta_1, beta_2, one)
        first[k] = f
        second[k] = s
        param[k] -= step * f / (math.sqrt(s) + epsilon)


@njit(cache=True, nogil=True)
def activate_inplace(z, intercept, code):
    """Add the intercept to ``z`` (n, n_out) and apply the activation."""
    n, n_out = z.shape
    for i in range(n):
        for k in range(n_out):
            z[i, k] = _activate(z[i, k] + intercept[k], code)


@njit(cache=True, nogil=True)
def output_proba_inplace(z, intercept):
    """Turn output pre-activations into probabilities, in place.

    One column: the logistic function. More: the softmax of each row.
    """
    n, n_out = z.shape
    for i in range(n):
        if n_out == 1:
            z[i, 0] = _activate(z[i, 0] + intercept[0], 1)
            continue
        top = -np.inf
        for k in range(n_out):
            z[i, k] += intercept[k]
            if z[i, k] > top:
                top = z[i, k]
        total = 0.0
        for k in range(n_out):
            e = math.exp(z[i, k] - top)
            z[i, k] = e
            total += e
        for k in range(n_out):
            z[i, k] /= total


@njit(cache=True, nogil=True)
def standard_normal_rows(rng, arrays, n_rows):
    """Fill the first ``n_rows`` rows of each array with N(0, 1) draws.

    ``rng`` is a ``numpy.random.Generator`` and ``arrays`` a tuple of 2-D
    arrays, filled in order, row by row. The draws are made in double
    precision and rounded to the arrays' type. Numba inlines the sampler,
    so a draw took 3.9 ns against 9.5 ns with NumPy's float32 call on the
    benchmark machine.
    """
    for out in arrays:
        for i in range(n_rows):
            for k in range(out.shape[1]):
                out[i, k] = rng.standard_normal()


@njit(cache=True, nogil=True)
def sample_synapses(pi, m, xi, scale, rng, out):
    """Draw one concrete weight for every synapse of a layer into ``out``.

    A synapse is present with probability ``1 - pi`` and then weighs
    ``m + sqrt(xi) * zeta`` with ``zeta ~ Normal(0, 1)``; the weight is
    multiplied by ``scale``. Both random numbers are drawn for every synapse,
    present or not, so that changing ``pi`` leaves the draws of the other
    synapses unchanged. ``rng`` is a ``numpy.random.Generator``.
    """
    n_in, n_out = pi.shape
    for j in range(n_in):
        for k in range(n_out):
            u = rng.random()
            zeta = rng.standard_normal()
            if u < pi[j, k]:
                out[j, k] = 0.0
            else:
                out[j, k] = scale * (m[j, k] + math.sqrt(xi[j, k]) * zeta)
