#!/usr/bin/python3
"""One-class AUROC of variants of the reconstruction score, offline, in numpy (f32 models).

The variants docs/anomaly.md compares with mse-icr and mse3x3-icr (the engine's own scores are
what tools/bench/anomaly_tables.sh measures; this script explores what else a score could be).
DIR holds oneclass0.evae .. oneclass9.evae (`mnist` shape, one digit each, as
tools/bench/anomaly_tables.sh trains them); each is exported to safetensors with
`edgevae convert --to-safetensors` and run here in double precision.

  tools/bench/anomaly_score_variants.py DIR [EDGEVAE] [MNIST_DIR]
"""
import json
import os
import struct
import subprocess
import sys
import zlib

import numpy as np

d_dir = sys.argv[1]
edgevae = sys.argv[2] if len(sys.argv) > 2 else 'build/release/tools/edgevae'
mnist = sys.argv[3] if len(sys.argv) > 3 else 'data/mnist'


def idx(path):
    b = open(path, 'rb').read()
    nd = b[3]
    dims = struct.unpack('>' + 'I' * nd, b[4:4 + 4 * nd])
    return np.frombuffer(b, np.uint8, offset=4 + 4 * nd).reshape(dims)


def safetensors(path):
    b = open(path, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    out = {}
    for k, v in json.loads(b[8:8 + n]).items():
        if k != '__metadata__':
            s, e = v['data_offsets']
            out[k] = np.frombuffer(b[8 + n + s:8 + n + e], np.float32).reshape(v['shape']).astype(float)
    return out


def forward(w, x):
    h = np.maximum(x @ w['fc1.weight'].T + w['fc1.bias'], 0)
    mu = h @ w['fc21.weight'].T + w['fc21.bias']
    g = np.maximum(mu @ w['fc3.weight'].T + w['fc3.bias'], 0)
    return mu, 1 / (1 + np.exp(-(g @ w['fc4.weight'].T + w['fc4.bias'])))


def auroc(score, anomalous):  # Mann-Whitney; the scores here have no ties
    r = np.empty(len(score))
    r[np.argsort(score, kind='stable')] = np.arange(1, len(score) + 1)
    n1 = anomalous.sum()
    return (r[anomalous].sum() - n1 * (n1 + 1) / 2) / (n1 * (len(score) - n1))


def patch_sums(e, k):  # e: n x 28 x 28 residuals; k: a (2r+1) x (2r+1) kernel; zeros outside
    r = k.shape[0] // 2
    out = np.zeros_like(e)
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            ys, yd = slice(max(dy, 0), 28 + min(dy, 0)), slice(max(-dy, 0), 28 + min(-dy, 0))
            xs, xd = slice(max(dx, 0), 28 + min(dx, 0)), slice(max(-dx, 0), 28 + min(-dx, 0))
            out[:, yd, xd] += k[dy + r, dx + r] * e[:, ys, xs]
    return out


def complexity(raw):  # L(x) in nats, as edgevae's InputComplexityNats
    return np.array([8 * np.log(2) * len(zlib.compress(r.tobytes(), 9)) for r in raw])


raw_te = idx(f'{mnist}/t10k-images-idx3-ubyte').reshape(-1, 784)
y_te = idx(f'{mnist}/t10k-labels-idx1-ubyte')
x_te = raw_te / 255.0
l_te = complexity(raw_te)
raw_tr = idx(f'{mnist}/train-images-idx3-ubyte').reshape(-1, 784)
y_tr = idx(f'{mnist}/train-labels-idx1-ubyte')
box = lambda n: np.ones((n, n))
plus = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], float)
binomial = np.outer([1, 2, 1], [1, 2, 1]).astype(float)

results = {}
for digit in range(10):
    st = f'{d_dir}/oneclass{digit}.safetensors'
    if not os.path.exists(st):
        subprocess.run([edgevae, 'convert', '--in', f'{d_dir}/oneclass{digit}.evae',
                        '--to-safetensors', st], check=True, capture_output=True)
    w = safetensors(st)
    mu, p = forward(w, x_te)
    x_tr = raw_tr[y_tr == digit][:2000] / 255.0
    mu_tr, p_tr = forward(w, x_tr)
    e = (p - x_te).reshape(-1, 28, 28)
    sq = lambda k: (patch_sums(e, k) ** 2).sum((1, 2))
    s = {
        'mse-icr': (e ** 2).sum((1, 2)) / l_te,
        'mse3x3-icr (3x3 box)': sq(box(3)) / l_te,
        '2x2 box': ((e[:, :-1, :-1] + e[:, 1:, :-1] + e[:, :-1, 1:] + e[:, 1:, 1:]) ** 2).sum((1, 2)) / l_te,
        '5x5 box': sq(box(5)) / l_te,
        '7x7 box': sq(box(7)) / l_te,
        '3x3 plus': sq(plus) / l_te,
        '3x3 binomial': sq(binomial) / l_te,
        '3x3 box, abs(sum) not squared': np.abs(patch_sums(e, box(3))).sum((1, 2)) / l_te,
        '3x3 box / L^0.75': sq(box(3)) / l_te ** 0.75,
        '3x3 box / L^1.25': sq(box(3)) / l_te ** 1.25,
        '3x3 box, missing ink only': (np.minimum(patch_sums(e, box(3)), 0) ** 2).sum((1, 2)) / l_te,
    }
    # Per-pixel error variance of the training digits as weights (a Gaussian decoder's variance).
    var = ((p_tr - x_tr) ** 2).mean(0) + 1e-3
    s['mse / per-pixel variance, icr'] = (((p - x_te) ** 2) / var).sum(1) / l_te
    # Plus the Mahalanobis distance of mu under the training codes' Gaussian (z-scores, weight 0.1).
    c = np.linalg.inv(np.cov(mu_tr.T) + 1e-6 * np.eye(mu.shape[1]))
    m0 = mu_tr.mean(0)
    maha = np.einsum('ij,jk,ik->i', mu - m0, c, mu - m0)
    maha_tr = np.einsum('ij,jk,ik->i', mu_tr - m0, c, mu_tr - m0)
    e_tr = (p_tr - x_tr).reshape(-1, 28, 28)
    base_tr = (patch_sums(e_tr, box(3)) ** 2).sum((1, 2)) / complexity((x_tr * 255).round().astype(np.uint8))
    z = lambda a, ref: (a - ref.mean()) / ref.std()
    s['3x3 box + 0.1 latent Mahalanobis'] = z(s['mse3x3-icr (3x3 box)'], base_tr) + 0.1 * z(maha, maha_tr)
    for name, v in s.items():
        results.setdefault(name, []).append(auroc(v, y_te != digit))

print('| variant (f32) | ' + ' | '.join(str(d) for d in range(10)) + ' | mean |')
print('|---|' + '---|' * 11)
for name, v in results.items():
    print(f'| {name} | ' + ' | '.join(f'{a:.4f}' for a in v) + f' | **{np.mean(v):.4f}** |')
