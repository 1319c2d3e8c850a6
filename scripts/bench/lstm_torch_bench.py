#!/usr/bin/env python3
"""lstm_torch_bench.py: PyTorch's side of the LSTM benchmark (lstm.sh,
gpu-lstm.sh). The same work as vfr_bench_lstm: one epoch over N sequences of
L = 20 steps x F = 50 features from a panel of 100 symbols, windows gathered
per batch by index, standardised features, nn.LSTM(50, 64) -> dropout 0.3 ->
nn.LSTM(64, 32) -> Linear(32, 1), BCEWithLogitsLoss, clip_grad_norm_(1.0),
Adam(lr 1e-3), batch 64, shuffled. Prints one JSON object.

  lstm_torch_bench.py [--device cpu|cuda] [--threads T] [--sequences N] [--epochs E]
"""
import argparse
import json
import time

import torch
from torch import nn

L, F, SYMBOLS = 20, 50, 100


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.l0 = nn.LSTM(F, 64)
        self.drop = nn.Dropout(0.3)
        self.l1 = nn.LSTM(64, 32)
        self.head = nn.Linear(32, 1)

    def forward(self, x):  # x (L, B, F)
        h, _ = self.l0(x)
        h, _ = self.l1(self.drop(h))
        return self.head(h[-1]).squeeze(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--sequences", type=int, default=200000)
    ap.add_argument("--epochs", type=int, default=1)
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    torch.manual_seed(1)
    T = (a.sequences + SYMBOLS - 1) // SYMBOLS + L - 1
    panel = torch.rand(T * SYMBOLS, F) * 2 - 1
    labels = (torch.rand(T * SYMBOLS) < 0.5).float()
    mean, std = panel.mean(0), panel.std(0)
    panel = ((panel - mean) / std).to(dev)
    labels = labels.to(dev)
    ends = torch.arange((L - 1) * SYMBOLS, T * SYMBOLS, device=dev)  # rows with a full history
    back = (torch.arange(L - 1, -1, -1, device=dev) * SYMBOLS).view(L, 1)  # prev = row - SYMBOLS
    net = Net().to(dev)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    lossf = nn.BCEWithLogitsLoss()

    def epoch():
        net.train()
        order = ends[torch.randperm(len(ends), device=dev)]
        for i in range(0, len(order), 64):
            rows = order[i:i + 64]
            x = panel[rows.view(1, -1) - back]  # (L, B, F) gathered by index
            opt.zero_grad(set_to_none=True)
            loss = lossf(net(x), labels[rows])
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize()

    if dev.type == "cuda":  # cuDNN setup, not timed (as vfr's warm-up)
        keep = ends
        ends = ends[:64 * 100]
        epoch()
        ends = keep
    t0 = time.perf_counter()
    for _ in range(a.epochs):
        epoch()
    dt = time.perf_counter() - t0
    print(json.dumps({"impl": "pytorch " + torch.__version__, "device": a.device,
                      "threads": torch.get_num_threads(), "sequences": a.sequences, "epochs": a.epochs,
                      "seconds": round(dt, 3), "seconds_per_epoch": round(dt / a.epochs, 3)}))


if __name__ == "__main__":
    main()
