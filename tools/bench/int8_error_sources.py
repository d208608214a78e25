#!/usr/bin/env python3
"""Where an int8 decoder's pixel error comes from: a numpy model of the int8 decoder's
arithmetic (edgevae's quantizer: percentile activation ranges on 2,000 training images and as many
prior draws, symmetric weights, fp32 requantization), one source of rounding at a time, against
the f32 decoder. Prints the mean |pixel error| on the 2-D manifold grid (or 400 prior draws for a
larger latent space) and on 10,000 prior draws. For docs/performance.md, "Faithful int8".

  edgevae convert --in out/mnist2d.evae --to-safetensors /tmp/m.safetensors
  /usr/bin/python3 tools/bench/int8_error_sources.py /tmp/m.safetensors data/mnist

Needs python3-numpy (Debian). The figures are the arithmetic's, not the engine's: `edgevae verify
--model Q8 --reference F32` measures the engine.
"""
import json
import struct
import sys
from statistics import NormalDist

import numpy as np


def load_safetensors(path):
    b = open(path, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    header = json.loads(b[8:8 + n])
    data = b[8 + n:]
    out = {}
    for k, v in header.items():
        if k == '__metadata__':
            continue
        s, e = v['data_offsets']
        out[k] = np.frombuffer(data[s:e], dtype=np.float32).reshape(v['shape'])
    return out


def idx_images(path):
    return np.frombuffer(open(path, 'rb').read()[16:], dtype=np.uint8).reshape(-1, 784)


def sigmoid(v):
    return 1 / (1 + np.exp(-np.clip(v, -80, 80)))


def range_of(lo, hi):  # quant.cc's RangeOf
    lo, hi = min(lo, 0), max(hi, 0)
    s = (hi - lo) / 255
    return s, int(np.clip(round(-128 - lo / s), -128, 127))


def percentile(v):
    v = np.sort(v.ravel())
    return range_of(v[int(1e-4 * (len(v) - 1))], v[int(0.9999 * (len(v) - 1))])


def fake_quant(v, r):
    s, zp = r
    return s * (np.clip(np.rint(v / s) + zp, -128, 127) - zp)


def quant_weights(w, per_row):
    s = (np.abs(w).max(axis=1, keepdims=True) if per_row else np.abs(w).max()) / 127
    return np.clip(np.rint(w / s), -127, 127) * s


def pixel_error_range(v):  # quant.cc's PixelErrorRange
    v = v.ravel()[::max(1, v.size // 50000)]
    p, best = sigmoid(v), None
    for a in range(100, 1, -2):
        for b in range(100, 49, -10):
            r = range_of(v.min() * a / 100, v.max() * b / 100)
            e = np.abs(sigmoid(fake_quant(v, r)) - p).mean()
            if best is None or e < best[0]:
                best = (e, r)
    return best[1]


def main():
    W = load_safetensors(sys.argv[1])
    mnist = sys.argv[2] if len(sys.argv) > 2 else 'data/mnist'
    x = idx_images(mnist + '/train-images-idx3-ubyte')[:2000].astype(np.float32) / 255
    relu = lambda v: np.maximum(v, 0)
    mu = relu(x @ W['fc1.weight'].T + W['fc1.bias']) @ W['fc21.weight'].T + W['fc21.bias']
    latent = mu.shape[1]
    z_cal = np.concatenate([mu, np.random.default_rng(1).standard_normal(mu.shape).astype(np.float32)])
    h_cal = relu(z_cal @ W['fc3.weight'].T + W['fc3.bias'])
    l_cal = h_cal @ W['fc4.weight'].T + W['fc4.bias']
    ranges = dict(z=percentile(z_cal), h=percentile(h_cal), logits=percentile(l_cal))
    samples = np.random.default_rng(7).standard_normal((10000, latent)).astype(np.float32)
    if latent == 2:
        g = 20
        grid = np.array([[NormalDist().inv_cdf((c + .5) / g), NormalDist().inv_cdf(1 - (r + .5) / g)]
                         for r in range(g) for c in range(g)], dtype=np.float32)
    else:
        grid = samples[:400]

    def decode(z, q):
        w3, w4 = W['fc3.weight'], W['fc4.weight']
        if q.get('z'):
            z = fake_quant(z, ranges['z'])
        if q.get('w'):
            w3, w4 = quant_weights(w3, q.get('per_row')), quant_weights(w4, q.get('per_row'))
        h = relu(z @ w3.T + W['fc3.bias'])
        if q.get('h'):
            h = fake_quant(h, ranges['h'])
        logits = h @ w4.T + W['fc4.bias']
        if q.get('logits'):
            logits = fake_quant(logits, q.get('logits_range', ranges['logits']))
        return sigmoid(logits)

    ref_grid, ref_samples = decode(grid, {}), decode(samples, {})
    rows = [
        ('z rounded', dict(z=1)),
        ('weights, one scale per layer', dict(w=1)),
        ('weights, one scale per row', dict(w=1, per_row=1)),
        ('hidden activations', dict(h=1)),
        ('logits, percentile range', dict(logits=1)),
        ('logits, pixel-error range', dict(logits=1, logits_range=pixel_error_range(l_cal))),
        ('all: per-layer weights, percentile logits (before)', dict(z=1, w=1, h=1, logits=1)),
        ('all: per-row weights, percentile logits', dict(z=1, w=1, per_row=1, h=1, logits=1)),
        ('all: per-row weights, pixel-error logits (now)',
         dict(z=1, w=1, per_row=1, h=1, logits=1, logits_range=pixel_error_range(l_cal))),
    ]
    print('| rounded | %s | 10,000 prior draws |' % ('manifold 20x20' if latent == 2 else '400 draws'))
    print('|---|---|---|')
    for name, q in rows:
        eg = np.abs(decode(grid, q) - ref_grid).mean()
        es = np.abs(decode(samples, q) - ref_samples).mean()
        print(f'| {name} | {eg:.4f} | {es:.4f} |')


if __name__ == '__main__':
    main()
