"""Reference solutions to the guide's exercises (``python -m barenet.exercises`` lists them).

Try each exercise before you read its solution here. Each function is the formula in its
docstring, in plain NumPy, with samples along the first axis; CI grades every one of them with
``barenet.exercises.grade_file`` and they must all pass.
"""

import numpy as np


def dense_forward(x, w, b):
    """y = x W + b.

    Shape: x (N, D), w (D, M), b (M,) -> y (N, M).
    """
    return x @ w + b


def dense_backward(dy, x, w):
    """dx = dy W^T, dW = x^T dy (every sample's outer product, summed), db = sum_n dy[n].

    Shape: dy (N, M), x (N, D), w (D, M) -> dx (N, D), dw (D, M), db (M,).
    """
    return dy @ w.T, x.T @ dy, dy.sum(axis=0)


def relu_backward(dy, x):
    """dx = dy * f'(x), with f'(x) = 1 where x > 0 and 0 elsewhere.

    Shape: dy and x (N, D) -> dx (N, D).
    """
    return dy * (x > 0)


def sigmoid_backward(dy, x):
    """dx = dy * s (1 - s), with s = sigmoid(x) = 1 / (1 + exp(-x)).

    Shape: dy and x (N, D) -> dx (N, D).
    """
    s = 1 / (1 + np.exp(-x))
    return dy * s * (1 - s)


def tanh_backward(dy, x):
    """dx = dy * (1 - tanh(x)^2).

    Shape: dy and x (N, D) -> dx (N, D).
    """
    y = np.tanh(x)
    return dy * (1 - y * y)


def softmax(z):
    """p[n, i] = exp(z[n, i] - m[n]) / sum_j exp(z[n, j] - m[n]), m[n] the row's maximum.

    Shape: z (N, C) -> p (N, C), each row summing to 1.
    """
    e = np.exp(z - z.max(axis=1, keepdims=True))  # every exponent <= 0: no overflow
    return e / e.sum(axis=1, keepdims=True)


def softmax_cross_entropy(z, labels):
    """L = -(1/N) sum_n log p[n, labels[n]], by log-sum-exp; dL/dz = (p - T) / N, T one-hot.

    Shape: z (N, C), labels (N,) integers -> loss (a number), dz (N, C).
    """
    n, classes = z.shape
    shifted = z - z.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_p[np.arange(n), labels].mean()
    t = np.eye(classes)[labels]  # one-hot rows
    return loss, (np.exp(log_p) - t) / n


def mse(yhat, y):
    """L = mean((yhat - y)^2) over all N x M entries; dL/dyhat = 2 (yhat - y) / (N M).

    Shape: yhat and y (N, M) -> loss (a number), dyhat (N, M).
    """
    diff = yhat - y
    return np.mean(diff**2), 2 * diff / diff.size


def adam_step(p, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2,
    p = p - lr m_hat / (sqrt(v_hat) + eps) with m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t).

    t counts from 1. Shape: p, g, m, v all the same -> (p, m, v).
    """
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def conv2d_forward(x, w, b, stride=1, padding=0):
    """y[n, f, i, j] = b[f] + sum_{c, u, v} w[f, c, u, v] x[n, c, s i + u, s j + v], x padded
    (a cross-correlation: the kernel is not flipped).

    Shape: x (N, C, H, W), w (F, C, KH, KW), b (F,) -> y (N, F, OH, OW),
    OH = (H + 2 padding - KH) // stride + 1.
    """
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    _, _, kh, kw = w.shape
    oh, ow = (x.shape[2] - kh) // stride + 1, (x.shape[3] - kw) // stride + 1
    y = np.zeros((x.shape[0], w.shape[0], oh, ow))
    for u in range(kh):  # one kernel position at a time: every window's pixel (u, v)
        for v in range(kw):
            pixels = x[:, :, u : u + stride * oh : stride, v : v + stride * ow : stride]
            y += np.einsum("nchw,fc->nfhw", pixels, w[:, :, u, v])
    return y + b[:, None, None]


def conv2d_backward(dy, x, w, stride=1, padding=0):
    """dw[f, c, u, v] = sum_{n, i, j} dy[n, f, i, j] x[n, c, s i + u, s j + v];
    dx[n, c, s i + u, s j + v] += w[f, c, u, v] dy[n, f, i, j] (then the padding cut off);
    db[f] = sum_{n, i, j} dy[n, f, i, j].

    Shape: dy (N, F, OH, OW), x (N, C, H, W), w (F, C, KH, KW) -> dx, dw, db (F,).
    """
    p = padding
    x = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    _, _, oh, ow = dy.shape
    dx, dw = np.zeros_like(x), np.zeros(w.shape)
    for u in range(w.shape[2]):
        for v in range(w.shape[3]):
            window = (
                slice(None),
                slice(None),
                slice(u, u + stride * oh, stride),
                slice(v, v + stride * ow, stride),
            )
            dw[:, :, u, v] = np.einsum("nfhw,nchw->fc", dy, x[window])
            dx[window] += np.einsum("nfhw,fc->nchw", dy, w[:, :, u, v])
    return dx[:, :, p : x.shape[2] - p, p : x.shape[3] - p], dw, dy.sum(axis=(0, 2, 3))


def maxpool_backward(dy, x, size=2):
    """dx = dy at the largest input of each size x size window (stride size), 0 elsewhere.

    Shape: dy (N, C, H // size, W // size), x (N, C, H, W) -> dx (N, C, H, W).
    """
    n, c, oh, ow = dy.shape
    windows = x[:, :, : oh * size, : ow * size].reshape(n, c, oh, size, ow, size)
    winner = windows == windows.max(axis=(3, 5), keepdims=True)  # one per window: no ties
    dx = np.zeros(x.shape)
    dx[:, :, : oh * size, : ow * size] = (winner * dy[:, :, :, None, :, None]).reshape(
        n, c, oh * size, ow * size
    )
    return dx


def batchnorm_backward(dy, x, gamma, eps=1e-5):
    """x_hat = (x - mean) / sqrt(var + eps) over the batch; dgamma = sum_n dy x_hat,
    dbeta = sum_n dy, dx = gamma / sqrt(var + eps) (dy - mean(dy) - x_hat mean(dy x_hat)).

    Shape: dy and x (N, D), gamma (D,) -> dx (N, D), dgamma (D,), dbeta (D,).
    """
    inverse_std = 1 / np.sqrt(x.var(axis=0) + eps)
    x_hat = (x - x.mean(axis=0)) * inverse_std
    dgamma, dbeta = (dy * x_hat).sum(axis=0), dy.sum(axis=0)
    dx = gamma * inverse_std * (dy - dbeta / len(x) - x_hat * dgamma / len(x))
    return dx, dgamma, dbeta


def welch(a, b):
    """difference = mean(a) - mean(b); standard_error = sqrt(s_a^2 / n_a + s_b^2 / n_b), s^2 the
    sample variance (ddof=1): the standard error of the difference, by Welch.

    Shape: a (n_a,), b (n_b,), n_a and n_b >= 2 -> two numbers.
    """
    standard_error = np.sqrt(np.var(a, ddof=1) / len(a) + np.var(b, ddof=1) / len(b))
    return np.mean(a) - np.mean(b), standard_error


def center_of_mass(image):
    """row = sum_{r, c} r image[r, c] / sum image, col = sum_{r, c} c image[r, c] / sum image.

    Shape: image (H, W), non-negative ink -> (row, col), two numbers, indices from 0.
    """
    rows, cols = np.indices(image.shape)  # each pixel's row and column index, (H, W) each
    total = image.sum()
    return (rows * image).sum() / total, (cols * image).sum() / total


def dropout_forward(x, mask, rate):
    """y = x * mask / (1 - rate): dropped units zeroed, kept ones scaled up (inverted dropout).

    Shape: x and mask (any, the same) -> y, the shape of x.
    """
    return x * mask / (1 - rate)


def dropout_backward(dy, mask, rate):
    """dx = dy * mask / (1 - rate): the forward pass is linear in x, with this slope.

    Shape: dy and mask (any, the same) -> dx, the shape of dy.
    """
    return dy * mask / (1 - rate)
