#!/usr/bin/env python3
"""Writes tests/micro/frames.bin, the anomaly programs' test input: 784-byte frames (28 x 28 grey
images, row-major), the first 12 MNIST test digits and then 4 images no digit model should find
normal: blank, all white, a checkerboard and the first digit inverted.

    tests/micro/make_frames.py [MNIST_DIR]      # default data/mnist (tools/fetch-mnist.sh)
"""
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
mnist = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "data", "mnist")
with open(os.path.join(mnist, "t10k-images-idx3-ubyte"), "rb") as f:
    data = f.read()
assert data[:4] == b"\x00\x00\x08\x03", "not an IDX image file"
digits = [data[16 + 784 * i:16 + 784 * (i + 1)] for i in range(12)]
checker = bytes(255 if (x // 4 + y // 4) % 2 else 0 for y in range(28) for x in range(28))
frames = digits + [bytes(784), bytes([255] * 784), checker, bytes(255 - b for b in digits[0])]
with open(os.path.join(here, "frames.bin"), "wb") as f:
    f.write(b"".join(frames))
print("frames.bin: %d frames" % len(frames))
