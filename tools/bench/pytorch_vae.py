#!/usr/bin/python3
"""The canonical PyTorch VAE example (pytorch/examples, vae/main.py) on the same MNIST files, for
a same-machine comparison with `edgevae train`. Same model (784-400-20), loss (summed BCE + KL),
Adam lr 1e-3, batch 128, shuffled each epoch; data read from the IDX files with numpy instead of
torchvision (which would download). Prints per epoch: train loss, test loss, training seconds.

  apt-get install python3-torch libopenblas0-pthread   # Debian's PyTorch; without OpenBLAS it
                                                       # uses the reference BLAS (~15x slower)
  /usr/bin/python3 tools/bench/pytorch_vae.py --data data/mnist --epochs 2 --threads 1

--save-safetensors FILE writes the trained state_dict for `edgevae convert --from-safetensors`.
--json prints one JSON object on stdout at the end, shaped like `edgevae train --json`'s
({"epochs": [{"epoch", "train_loss", "test_loss", "seconds"}, ...]}); the lines above then go to
stderr. "seconds" is the training loop alone, as in the text line: not the test pass, not loading.
"""
import argparse
import json
import os
import struct
import sys
import time

import numpy as np

# OpenBLAS keeps its own thread pool, which torch.set_num_threads does not limit: the thread
# count has to be in the environment before torch (and so OpenBLAS) is loaded.
if __name__ == "__main__":
    for i, a in enumerate(sys.argv):
        if a == "--threads" and i + 1 < len(sys.argv):
            os.environ.setdefault("OPENBLAS_NUM_THREADS", sys.argv[i + 1])
            os.environ.setdefault("OMP_NUM_THREADS", sys.argv[i + 1])

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        return mu + torch.randn_like(std) * std

    def decode(self, z):
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z))))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def save_safetensors(state_dict, path, metadata=None):
    """Writes `state_dict` as safetensors (F32) without the `safetensors` package, in the layout
    its save_file produces: u64 little-endian header length, compact JSON with "__metadata__"
    first and the tensors sorted by name, padded with spaces to a multiple of 8, then the data
    (little-endian, row-major) in the same order."""
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name in sorted(state_dict):
        array = state_dict[name].detach().cpu().contiguous().numpy().astype("<f4", copy=False)
        blob = array.tobytes(order="C")
        header[name] = {"dtype": "F32", "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    os.replace(tmp, path)


def loss_function(recon_x, x, mu, logvar):
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--save-safetensors", metavar="FILE",
                    help="after the last epoch, write the state_dict here (safetensors, F32) for "
                         "`edgevae convert --from-safetensors`")
    ap.add_argument("--json", action="store_true",
                    help="print one JSON object on stdout at the end (the text lines go to stderr)")
    args = ap.parse_args()
    out = sys.stderr if args.json else sys.stdout
    epochs = []
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    train = torch.from_numpy(read_idx(f"{args.data}/train-images-idx3-ubyte").astype(np.float32) / 255)
    test = torch.from_numpy(read_idx(f"{args.data}/t10k-images-idx3-ubyte").astype(np.float32) / 255)
    model = VAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    print(f"torch {torch.__version__}, {args.threads} thread(s)", file=out)
    for epoch in range(1, args.epochs + 1):
        model.train()
        perm = torch.randperm(len(train))
        total = 0.0
        start = time.perf_counter()
        for i in range(0, len(train), 128):
            data = train[perm[i:i + 128]]
            opt.zero_grad()
            recon, mu, logvar = model(data)
            loss = loss_function(recon, data, mu, logvar)
            loss.backward()
            total += loss.item()
            opt.step()
        seconds = time.perf_counter() - start
        model.eval()
        test_loss = 0.0
        with torch.no_grad():
            for i in range(0, len(test), 128):
                data = test[i:i + 128]
                recon, mu, logvar = model(data)
                test_loss += loss_function(recon, data, mu, logvar).item()
        print(f"epoch {epoch}  train {total / len(train):.2f}  test {test_loss / len(test):.2f}  "
              f"{seconds:.2f} s", file=out, flush=True)
        epochs.append({"epoch": epoch, "train_loss": total / len(train),
                       "test_loss": test_loss / len(test), "seconds": seconds})
    if args.save_safetensors:
        save_safetensors(model.state_dict(), args.save_safetensors,
                         {"format": "pt", "epochs": args.epochs})
        print(f"wrote {args.save_safetensors}", file=out)
    if args.json:
        print(json.dumps({"torch": torch.__version__, "threads": args.threads, "epochs": epochs}))


if __name__ == "__main__":
    main()
