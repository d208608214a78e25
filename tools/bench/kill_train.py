#!/usr/bin/env python3
"""Kills `edgevae train` while it writes a checkpoint, N times, then lets one run finish, and
counts the temp files left beside --out after each step (docs/reliability-local.md, D).

  python3 tools/bench/kill_train.py EDGEVAE DATA_DIR WORK_DIR [KILLS]
  e.g. python3 tools/bench/kill_train.py build/release/tools/edgevae data/mnist-1000 /tmp/k 8

DATA_DIR is an MNIST directory; a small one (e.g. the first 1,000 training images) keeps each run
short. WORK_DIR is emptied first. Each run resumes from WORK_DIR/m.evae if it exists; it is killed
(SIGKILL) as soon as a temp file appears that was not there when it started, after 0.3 s, so that
the start-up trial write of a new build is skipped and a checkpoint write is hit. The folder is
polled, so where in the write the kill lands varies (partial files of various sizes); the
deterministic version of this is tests/cli/train_crash_test.cc.
"""
import os
import signal
import subprocess
import sys
import time


def temp_files(d):
    names = [n for n in os.listdir(d) if '.tmp.' in n]
    return names, sum(os.path.getsize(os.path.join(d, n)) for n in names)


def main():
    exe, data, d = sys.argv[1:4]
    kills = int(sys.argv[4]) if len(sys.argv) > 4 else 8
    os.makedirs(d, exist_ok=True)
    for n in os.listdir(d):
        os.unlink(os.path.join(d, n))
    out = os.path.join(d, 'm.evae')

    def args(epochs):
        a = [exe, 'train', '--data', data, '--epochs', str(epochs), '--batch', '32', '--threads',
             '1', '--out', out]
        return a + (['--resume', out] if os.path.exists(out) else [])

    for k in range(kills):
        before = set(os.listdir(d))
        p = subprocess.Popen(args(1000), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        start = time.time()
        while time.time() - start < 60:
            if time.time() - start > 0.3 and any('.tmp.' in n and n not in before
                                                  for n in os.listdir(d)):
                p.send_signal(signal.SIGKILL)
                break
        p.wait()
        names, size = temp_files(d)
        print(f'kill {k + 1}: {len(names)} temp files, {size / 1e6:.1f} MB')
    r = subprocess.run(args(1), capture_output=True, text=True)
    names, size = temp_files(d)
    print(f'a run to the end (exit {r.returncode}): {len(names)} temp files, {size / 1e6:.1f} MB')


if __name__ == '__main__':
    main()
