"""Wrong answers to the exercises, each written as a learner writes it, with one classic mistake.

``WRONG`` lists them as ``(exercise, function, mistake key, phrase)``: the grader must fail the
function, recognise the mistake by its key, and say the phrase. The tests also check that every
mistake the grader knows has at least one wrong answer here.
"""

import numpy as np

WRONG = []


def wrong(exercise, key, phrase):
    """Register the decorated function as a wrong answer to ``exercise``."""

    def register(function):
        WRONG.append((exercise, function, key, phrase))
        return function

    return register


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def onehot(labels, classes):
    return np.eye(classes)[labels]


def pad(x, p):
    return np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))


def correlate(x, w, stride=1):
    """Cross-correlation of an already padded x: (N, F, OH, OW)."""
    kh, kw = w.shape[2:]
    oh, ow = (x.shape[2] - kh) // stride + 1, (x.shape[3] - kw) // stride + 1
    y = np.zeros((x.shape[0], w.shape[0], oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = x[:, :, i * stride : i * stride + kh, j * stride : j * stride + kw]
            y[:, :, i, j] = np.einsum("nchw,fchw->nf", patch, w)
    return y


def correlate_backward(dy, x, w, stride=1):
    """(dx, dw) of ``correlate``, x already padded; dx keeps the padding."""
    kh, kw = w.shape[2:]
    dx, dw = np.zeros(x.shape), np.zeros(w.shape)
    for i in range(dy.shape[2]):
        for j in range(dy.shape[3]):
            rows, columns = slice(i * stride, i * stride + kh), slice(j * stride, j * stride + kw)
            dw += np.einsum("nf,nchw->fchw", dy[:, :, i, j], x[:, :, rows, columns])
            dx[:, :, rows, columns] += np.einsum("nf,fchw->nchw", dy[:, :, i, j], w)
    return dx, dw


def crop(dx, p):
    return dx[:, :, p : dx.shape[2] - p, p : dx.shape[3] - p]


# Dense


@wrong("dense_forward", "weight-transposed", "(out, in) layout")
def dense_forward_out_in(x, w, b):
    return np.dot(w, x.T).T + b


@wrong("dense_forward", "bias-forgotten", "the bias forgotten")
def dense_forward_no_bias(x, w, b):
    return x @ w


@wrong("dense_backward", "bias-summed-over-every-axis", "summed over every axis")
def dense_backward_scalar_bias(dy, x, w):
    return dy @ w.T, x.T @ dy, np.sum(dy)


@wrong("dense_backward", "bias-sum-kept-its-axis", "keepdims=True")
def dense_backward_bias_kept_axis(dy, x, w):
    return dy @ w.T, x.T @ dy, np.sum(dy, axis=0, keepdims=True)


@wrong("dense_backward", "bias-not-summed-over-the-batch", "not summed over the batch")
def dense_backward_bias_per_sample(dy, x, w):
    return dy @ w.T, x.T @ dy, dy


@wrong("dense_backward", "bias-averaged-over-the-batch", "divided by the batch size")
def dense_backward_bias_mean(dy, x, w):
    return dy @ w.T, x.T @ dy, dy.mean(axis=0)


@wrong("dense_backward", "weight-gradient-transposed", "weight gradient transposed")
def dense_backward_dw_out_in(dy, x, w):
    return dy @ w.T, dy.T @ x, dy.sum(axis=0)


@wrong("dense_backward", "weight-gradient-averaged", "divided by the batch size")
def dense_backward_dw_mean(dy, x, w):
    return dy @ w.T, x.T @ dy / x.shape[0], dy.sum(axis=0)


@wrong("dense_backward", "input-gradient-without-transpose", "with w instead of w.T")
def dense_backward_dx_without_transpose(dy, x, w):
    return dy @ w, x.T @ dy, dy.sum(axis=0)


@wrong("dense_backward", "input-gradient-transposed", "input gradient transposed")
def dense_backward_dx_columns(dy, x, w):
    return w @ dy.T, x.T @ dy, dy.sum(axis=0)


# Activations


@wrong("relu_backward", "relu-derivative-above-1", "(x > 1)")
def relu_backward_above_one(dy, x):
    return dy * (x > 1)


@wrong("relu_backward", "derivative-without-dy", "without multiplying by dy")
def relu_backward_mask_only(dy, x):
    return x > 0


@wrong("relu_backward", "output-instead-of-derivative", "output instead of its derivative")
def relu_backward_times_output(dy, x):
    return dy * np.maximum(0, x)


@wrong("relu_backward", "relu-of-dy", "ReLU applied to dy")
def relu_backward_of_dy(dy, x):
    return np.maximum(dy, 0)


@wrong("sigmoid_backward", "derivative-missing", "sigmoid derivative missing")
def sigmoid_backward_missing(dy, x):
    return dy


@wrong("sigmoid_backward", "derivative-of-the-pre-activation", "applied to the pre-activation")
def sigmoid_backward_on_x(dy, x):
    return dy * x * (1 - x)


@wrong("sigmoid_backward", "derivative-without-dy", "without multiplying by dy")
def sigmoid_backward_without_dy(dy, x):
    s = sigmoid(x)
    return s * (1 - s)


@wrong("tanh_backward", "derivative-missing", "tanh derivative missing")
def tanh_backward_missing(dy, x):
    return dy.copy()


@wrong("tanh_backward", "derivative-of-the-pre-activation", "applied to the pre-activation")
def tanh_backward_on_x(dy, x):
    return dy * (1 - x**2)


@wrong("tanh_backward", "derivative-without-dy", "without multiplying by dy")
def tanh_backward_without_dy(dy, x):
    return 1 - np.tanh(x) ** 2


@wrong("softmax", "normalised-over-the-whole-matrix", "whole matrix (np.sum without axis)")
def softmax_whole_matrix(z):
    exps = np.exp(z - np.max(z))  # as seed 001 wrote it
    return exps / np.sum(exps)


@wrong("softmax", "normalised-over-the-whole-matrix", "whole matrix (np.sum without axis)")
def softmax_whole_matrix_row_shift(z):
    exps = np.exp(z - z.max(axis=1, keepdims=True))
    return exps / exps.sum()


@wrong("softmax", "max-not-subtracted", "without subtracting the maximum")
def softmax_unshifted(z):
    return np.exp(z) / np.sum(np.exp(z), axis=1, keepdims=True)


@wrong("softmax", "shifted-by-the-matrix-maximum", "maximum of the whole matrix")
def softmax_matrix_max(z):
    exps = np.exp(z - np.max(z))
    return exps / np.sum(exps, axis=1, keepdims=True)


@wrong("softmax", "normalised-over-columns", "down each column")
def softmax_columns(z):
    exps = np.exp(z - z.max(axis=0))
    return exps / exps.sum(axis=0)


@wrong("softmax", "keepdims-forgotten", "without keepdims=True")
def softmax_no_keepdims(z):
    exps = np.exp(z - z.max(axis=1))
    return exps / exps.sum(axis=1)


# Losses


@wrong("softmax_cross_entropy", "loss-summed-over-the-batch", "summed over the batch")
def cross_entropy_summed(z, labels):
    p = softmax(z)
    loss = -np.sum(np.log(p[np.arange(len(z)), labels]))
    return loss, (p - onehot(labels, z.shape[1])) / len(z)


@wrong("softmax_cross_entropy", "loss-averaged-over-classes-too", "averaged over every entry")
def cross_entropy_mean_over_entries(z, labels):
    shifted = z - z.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    t = onehot(labels, z.shape[1])
    return -np.mean(t * log_p), (np.exp(log_p) - t) / len(z)


@wrong("softmax_cross_entropy", "log-of-a-rounded-probability", "log taken of a softmax")
def cross_entropy_log_of_p(z, labels):
    p = softmax(z)
    return -np.mean(np.log(p[np.arange(len(z)), labels])), (p - onehot(labels, z.shape[1])) / len(z)


@wrong("softmax_cross_entropy", "gradient-not-divided-by-the-batch", "not divided by the batch")
def cross_entropy_gradient_not_divided(z, labels):
    p = softmax(z)
    return -np.mean(np.log(p[np.arange(len(z)), labels])), p - onehot(labels, z.shape[1])


@wrong("softmax_cross_entropy", "labels-not-one-hot", "not turned into one-hot rows")
def cross_entropy_labels_broadcast(z, labels):
    p = softmax(z)
    return -np.mean(np.log(p[np.arange(len(z)), labels])), (p - labels) / len(z)


@wrong("softmax_cross_entropy", "labels-not-one-hot", "not turned into one-hot rows")
def cross_entropy_labels_as_column(z, labels):
    p = softmax(z)
    return -np.mean(np.log(p[np.arange(len(z)), labels])), (p - labels.reshape(-1, 1)) / len(z)


@wrong("softmax_cross_entropy", "gradient-averaged-over-classes-too", "(N x C) instead of N")
def cross_entropy_gradient_over_entries(z, labels):
    p = softmax(z)
    return -np.mean(np.log(p[np.arange(len(z)), labels])), (p - onehot(labels, z.shape[1])) / z.size


@wrong("softmax_cross_entropy", "gradient-sign-flipped", "sign flipped")
def cross_entropy_sign(z, labels):
    p = softmax(z)
    return -np.mean(np.log(p[np.arange(len(z)), labels])), (onehot(labels, z.shape[1]) - p) / len(z)


@wrong("softmax_cross_entropy", "max-not-subtracted", "without subtracting the maximum")
def cross_entropy_unshifted(z, labels):
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    return -np.mean(np.log(p[np.arange(len(z)), labels])), (p - onehot(labels, z.shape[1])) / len(z)


@wrong("mse", "loss-divided-by-the-batch", "divided by N, not by every entry")
def mse_loss_per_sample(yhat, y):
    return np.sum((yhat - y) ** 2) / len(y), 2 * (yhat - y) / yhat.size


@wrong("mse", "loss-summed", "summed instead of averaged")
def mse_loss_summed(yhat, y):
    return np.sum((yhat - y) ** 2), 2 * (yhat - y) / yhat.size


@wrong("mse", "loss-halved", "halved")
def mse_loss_halved(yhat, y):
    return 0.5 * np.mean((yhat - y) ** 2), 2 * (yhat - y) / yhat.size


@wrong("mse", "two-forgotten", "the 2 of the square's derivative forgotten")
def mse_two_forgotten(yhat, y):
    return np.mean((yhat - y) ** 2), (yhat - y) / yhat.size


@wrong("mse", "gradient-divided-by-the-batch", "divided by N instead of by every entry")
def mse_gradient_per_sample(yhat, y):
    return np.mean((yhat - y) ** 2), 2 * (yhat - y) / yhat.shape[0]


@wrong("mse", "two-forgotten-and-divided-by-the-batch", "the 2 forgotten, and")
def mse_gradient_neither(yhat, y):
    return np.mean((yhat - y) ** 2), (yhat - y) / yhat.shape[0]


@wrong("mse", "gradient-not-averaged", "not divided by the batch size")
def mse_gradient_not_averaged(yhat, y):
    return np.mean((yhat - y) ** 2), 2 * (yhat - y)


@wrong("mse", "gradient-sign-flipped", "sign flipped")
def mse_gradient_sign(yhat, y):
    return np.mean((yhat - y) ** 2), 2 * (y - yhat) / y.size


# Adam


def adam(p, g, m, v, t, lr, beta1, beta2, eps, step):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    m_hat, v_hat = m / (1 - beta1**step), v / (1 - beta2**step)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


@wrong("adam_step", "no-bias-correction", "without bias correction")
def adam_step_uncorrected(p, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    return p - lr * m / (np.sqrt(v) + eps), m, v


@wrong("adam_step", "t-off-by-one", "t off by one")
def adam_step_t_from_zero(p, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    return adam(p, g, m, v, t, lr, beta1, beta2, eps, step=t + 1)


@wrong("adam_step", "t-off-by-one", "t off by one")
def adam_step_t_minus_one(p, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    return adam(p, g, m, v, t, lr, beta1, beta2, eps, step=t - 1)


@wrong("adam_step", "corrected-moments-kept", "returned as the new m")
def adam_step_keeps_corrected(p, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m = (beta1 * m + (1 - beta1) * g) / (1 - beta1**t)
    v = (beta2 * v + (1 - beta2) * g**2) / (1 - beta2**t)
    return p - lr * m / (np.sqrt(v) + eps), m, v


@wrong("adam_step", "v-of-g-not-g-squared", "instead of g**2")
def adam_step_v_of_g(p, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g
    return p - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps), m, v


@wrong("adam_step", "step-uphill", "uphill")
def adam_step_uphill(p, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    p, m, v = adam(p, g, m, v, t, -lr, beta1, beta2, eps, step=t)
    return p, m, v


# Convolution and pooling


@wrong("conv2d_forward", "padding-ignored", "the padding ignored")
def conv2d_forward_no_padding(x, w, b, stride=1, padding=0):
    return correlate(x, w, stride) + b[:, None, None]


@wrong("conv2d_forward", "kernel-flipped", "a true convolution")
def conv2d_forward_flipped(x, w, b, stride=1, padding=0):
    return correlate(pad(x, padding), np.flip(w, axis=(2, 3)), stride) + b[:, None, None]


@wrong("conv2d_forward", "stride-ignored", "the stride ignored")
def conv2d_forward_no_stride(x, w, b, stride=1, padding=0):
    return correlate(pad(x, padding), w) + b[:, None, None]


@wrong("conv2d_forward", "bias-forgotten", "the bias forgotten")
def conv2d_forward_no_bias(x, w, b, stride=1, padding=0):
    return correlate(pad(x, padding), w, stride)


def conv_backward(dy, x, w, stride, padding):
    dx, dw = correlate_backward(dy, pad(x, padding), w, stride)
    return crop(dx, padding), dw, dy.sum(axis=(0, 2, 3))


@wrong("conv2d_backward", "padding-kept", "border left on dx")
def conv2d_backward_padded_dx(dy, x, w, stride=1, padding=0):
    dx, dw = correlate_backward(dy, pad(x, padding), w, stride)
    return dx, dw, dy.sum(axis=(0, 2, 3))


@wrong("conv2d_backward", "kernel-flipped-the-wrong-way", "flipped the wrong way")
def conv2d_backward_unflipped_full_correlation(dy, x, w, stride=1, padding=0):
    _, dw, db = conv_backward(dy, x, w, stride, padding)
    dx, _ = correlate_backward(dy, pad(x, padding), w[:, :, ::-1, ::-1], stride)
    return crop(dx, padding), dw, db


@wrong("conv2d_backward", "weight-gradient-flipped", "weight gradient flipped")
def conv2d_backward_dw_flipped(dy, x, w, stride=1, padding=0):
    dx, dw, db = conv_backward(dy, x, w, stride, padding)
    return dx, np.rot90(dw, 2, axes=(2, 3)), db


@wrong("conv2d_backward", "channels-swapped", "in and out channels swapped")
def conv2d_backward_dw_swapped(dy, x, w, stride=1, padding=0):
    dx, dw, db = conv_backward(dy, x, w, stride, padding)
    return dx, np.swapaxes(dw, 0, 1), db


@wrong("conv2d_backward", "bias-summed-over-every-axis", "summed over every axis")
def conv2d_backward_db_scalar(dy, x, w, stride=1, padding=0):
    dx, dw, _ = conv_backward(dy, x, w, stride, padding)
    return dx, dw, np.sum(dy)


@wrong("conv2d_backward", "bias-summed-over-the-batch-only", "not summed over the pixels")
def conv2d_backward_db_per_pixel(dy, x, w, stride=1, padding=0):
    dx, dw, _ = conv_backward(dy, x, w, stride, padding)
    return dx, dw, dy.sum(axis=0)


@wrong("conv2d_backward", "bias-summed-over-the-pixels-only", "not summed over the batch")
def conv2d_backward_db_per_image(dy, x, w, stride=1, padding=0):
    dx, dw, _ = conv_backward(dy, x, w, stride, padding)
    return dx, dw, dy.sum(axis=(2, 3))


def upsample(dy, x, size):
    dx = np.zeros(x.shape)
    oh, ow = dy.shape[2:]
    dx[:, :, : oh * size, : ow * size] = np.kron(dy, np.ones((size, size)))
    return dx


@wrong("maxpool_backward", "spread-over-the-window", "spread evenly over the window")
def maxpool_backward_average(dy, x, size=2):
    return upsample(dy, x, size) / (size * size)


@wrong("maxpool_backward", "copied-to-every-pixel", "copied to every pixel")
def maxpool_backward_copied(dy, x, size=2):
    return upsample(dy, x, size)


@wrong("maxpool_backward", "mask-without-dy", "without multiplying by dy")
def maxpool_backward_mask(dy, x, size=2):
    mask = np.zeros(x.shape)
    for i in range(dy.shape[2]):
        for j in range(dy.shape[3]):
            window = x[:, :, i * size : (i + 1) * size, j * size : (j + 1) * size]
            top = window.max(axis=(2, 3), keepdims=True)
            mask[:, :, i * size : (i + 1) * size, j * size : (j + 1) * size] = window == top
    return mask


# Batch normalisation


def batchnorm(dy, x, gamma, eps):
    """(x_hat, 1 / std, dgamma, dbeta), right."""
    inverse_std = 1 / np.sqrt(np.var(x, axis=0) + eps)
    x_hat = (x - np.mean(x, axis=0)) * inverse_std
    return x_hat, inverse_std, np.sum(dy * x_hat, axis=0), np.sum(dy, axis=0)


@wrong("batchnorm_backward", "statistics-as-constants", "treated as constants")
def batchnorm_backward_constant_statistics(dy, x, gamma, eps=1e-5):
    _, inverse_std, dgamma, dbeta = batchnorm(dy, x, gamma, eps)
    return dy * gamma * inverse_std, dgamma, dbeta


@wrong("batchnorm_backward", "mean-term-forgotten", "mean's term of dx forgotten")
def batchnorm_backward_no_mean_term(dy, x, gamma, eps=1e-5):
    x_hat, inverse_std, dgamma, dbeta = batchnorm(dy, x, gamma, eps)
    return gamma * inverse_std * (dy - x_hat * dgamma / len(x)), dgamma, dbeta


@wrong("batchnorm_backward", "variance-term-forgotten", "variance's term of dx forgotten")
def batchnorm_backward_no_variance_term(dy, x, gamma, eps=1e-5):
    _, inverse_std, dgamma, dbeta = batchnorm(dy, x, gamma, eps)
    return gamma * inverse_std * (dy - dbeta / len(x)), dgamma, dbeta


@wrong("batchnorm_backward", "gamma-forgotten", "gamma left out of dx")
def batchnorm_backward_no_gamma(dy, x, gamma, eps=1e-5):
    x_hat, inverse_std, dgamma, dbeta = batchnorm(dy, x, gamma, eps)
    return inverse_std * (dy - dbeta / len(x) - x_hat * dgamma / len(x)), dgamma, dbeta


def batchnorm_dx(dy, x, gamma, eps):
    x_hat, inverse_std, dgamma, dbeta = batchnorm(dy, x, gamma, eps)
    return gamma * inverse_std * (dy - dbeta / len(x) - x_hat * dgamma / len(x))


@wrong("batchnorm_backward", "gamma-gradient-summed-over-every-axis", "summed over every axis")
def batchnorm_backward_dgamma_scalar(dy, x, gamma, eps=1e-5):
    x_hat, _, _, dbeta = batchnorm(dy, x, gamma, eps)
    return batchnorm_dx(dy, x, gamma, eps), np.sum(dy * x_hat), dbeta


@wrong("batchnorm_backward", "gamma-gradient-not-summed", "not summed over the batch")
def batchnorm_backward_dgamma_per_sample(dy, x, gamma, eps=1e-5):
    x_hat, _, _, dbeta = batchnorm(dy, x, gamma, eps)
    return batchnorm_dx(dy, x, gamma, eps), dy * x_hat, dbeta


@wrong("batchnorm_backward", "gamma-gradient-of-x", "computed with x, not x_hat")
def batchnorm_backward_dgamma_of_x(dy, x, gamma, eps=1e-5):
    _, _, _, dbeta = batchnorm(dy, x, gamma, eps)
    return batchnorm_dx(dy, x, gamma, eps), np.sum(dy * x, axis=0), dbeta


@wrong("batchnorm_backward", "beta-gradient-summed-over-every-axis", "summed over every axis")
def batchnorm_backward_dbeta_scalar(dy, x, gamma, eps=1e-5):
    _, _, dgamma, _ = batchnorm(dy, x, gamma, eps)
    return batchnorm_dx(dy, x, gamma, eps), dgamma, np.sum(dy)


@wrong("batchnorm_backward", "beta-gradient-not-summed", "not summed over the batch")
def batchnorm_backward_dbeta_per_sample(dy, x, gamma, eps=1e-5):
    _, _, dgamma, _ = batchnorm(dy, x, gamma, eps)
    return batchnorm_dx(dy, x, gamma, eps), dgamma, dy


# Experiments: Welch's standard error


@wrong("welch", "population-variance", "population variance (ddof=0)")
def welch_population_variance(a, b):
    return np.mean(a) - np.mean(b), np.sqrt(np.var(a) / len(a) + np.var(b) / len(b))


@wrong("welch", "errors-added", "added instead of combined in quadrature")
def welch_errors_added(a, b):
    se_a = np.std(a, ddof=1) / np.sqrt(len(a))
    se_b = np.std(b, ddof=1) / np.sqrt(len(b))
    return np.mean(a) - np.mean(b), se_a + se_b


@wrong("welch", "standard-deviations-not-errors", "standard deviations used instead")
def welch_standard_deviations(a, b):
    return np.mean(a) - np.mean(b), np.sqrt(np.var(a, ddof=1) + np.var(b, ddof=1))


@wrong("welch", "pooled-variance", "a pooled variance")
def welch_pooled(a, b):
    n_a, n_b = len(a), len(b)
    pooled = ((n_a - 1) * np.var(a, ddof=1) + (n_b - 1) * np.var(b, ddof=1)) / (n_a + n_b - 2)
    return np.mean(a) - np.mean(b), np.sqrt(pooled * (1 / n_a + 1 / n_b))


@wrong("welch", "pooled-variance", "a pooled variance")
def welch_one_sample(a, b):
    runs = np.concatenate([a, b])
    return np.mean(a) - np.mean(b), np.std(runs, ddof=1) / np.sqrt(len(runs))


@wrong("welch", "difference-sign-flipped", "other way round (b - a)")
def welch_sign_flipped(a, b):
    return np.mean(b) - np.mean(a), np.sqrt(np.var(a, ddof=1) / len(a) + np.var(b, ddof=1) / len(b))


# Reading your digit: the centre of mass


def weighted(image):
    """(sum of row * ink, sum of col * ink, all the ink)."""
    rows, cols = np.indices(image.shape)
    return (rows * image).sum(), (cols * image).sum(), image.sum()


@wrong("center_of_mass", "row-and-column-swapped", "(col, row)")
def center_of_mass_swapped(image):
    row, col, total = weighted(image)
    return col / total, row / total


@wrong("center_of_mass", "not-divided-by-the-ink", "not divided by the total ink")
def center_of_mass_not_divided(image):
    row, col, _ = weighted(image)
    return row, col


@wrong("center_of_mass", "not-divided-by-the-ink", "not divided by the total ink")
def center_of_mass_mean_over_pixels(image):
    rows, cols = np.indices(image.shape)
    return np.mean(rows * image), np.mean(cols * image)


@wrong("center_of_mass", "unweighted-centre", "an unweighted centre")
def center_of_mass_of_the_image(image):
    height, width = image.shape
    return (height - 1) / 2, (width - 1) / 2


@wrong("center_of_mass", "unweighted-centre", "an unweighted centre")
def center_of_mass_of_the_box(image):
    rows, cols = np.nonzero(image)
    return (rows.min() + rows.max()) / 2, (cols.min() + cols.max()) / 2


@wrong("center_of_mass", "indices-from-1", "counted from 1")
def center_of_mass_from_one(image):
    rows, cols = np.indices(image.shape) + 1
    return (rows * image).sum() / image.sum(), (cols * image).sum() / image.sum()


# Dropout


@wrong("dropout_forward", "not-scaled", "not scaled by 1 / (1 - rate)")
def dropout_forward_unscaled(x, mask, rate):
    return x * mask


@wrong("dropout_forward", "scaled-by-rate", "scaled by 1 / rate")
def dropout_forward_by_rate(x, mask, rate):
    return x * mask / rate


@wrong("dropout_forward", "scaled-by-the-keep-probability", "multiplied by 1 - rate")
def dropout_forward_times_keep(x, mask, rate):
    return x * mask * (1 - rate)


@wrong("dropout_forward", "mask-inverted", "the mask inverted")
def dropout_forward_inverted(x, mask, rate):
    return np.where(mask, 0, x) / (1 - rate)


@wrong("dropout_forward", "mask-not-applied", "the mask not applied")
def dropout_forward_no_mask(x, mask, rate):
    return x / (1 - rate)


@wrong("dropout_backward", "not-scaled", "not scaled by 1 / (1 - rate)")
def dropout_backward_unscaled(dy, mask, rate):
    return dy * mask


@wrong("dropout_backward", "scaled-by-rate", "scaled by 1 / rate")
def dropout_backward_by_rate(dy, mask, rate):
    return dy * mask / rate


@wrong("dropout_backward", "scaled-by-the-keep-probability", "multiplied by 1 - rate")
def dropout_backward_times_keep(dy, mask, rate):
    return dy * mask * (1 - rate)


@wrong("dropout_backward", "mask-inverted", "the mask inverted")
def dropout_backward_inverted(dy, mask, rate):
    return dy * (1 - mask) / (1 - rate)


@wrong("dropout_backward", "mask-not-applied", "the mask not applied")
def dropout_backward_no_mask(dy, mask, rate):
    return dy / (1 - rate)


@wrong("dropout_backward", "derivative-without-dy", "without multiplying by dy")
def dropout_backward_without_dy(dy, mask, rate):
    return mask / (1 - rate)
