"""PyTorch baseline: train P LSTM (or GRU, RNN) regressors one after another in a loop.

This is what researchers typically do today for a hyperparameter sweep: build a
fresh ``nn.LSTM -> nn.Dropout -> nn.Linear`` model per member (``nn.GRU`` or
``nn.RNN`` for ``cell='gru'``, ``'rnn_tanh'``, ``'rnn_relu'``), train it with its
own Adam learning rate and dropout rate, and move on to the next member.

Measured per population size P:
  * ``first_member_s``: wall time of member 0 (warm-up, includes lazy init),
  * ``steady_ms_per_member_step``: wall time of members 1..P-1 divided by
    ``(P - 1) * num_steps`` (for P=1, member 0's time / ``num_steps``).
Also reported: the machine's large float32 matmul rate (numpy), so results can
be expressed as a fraction of peak-ish throughput.

Run from the repository root (needs torch: ``pip install -e ".[bench]"``)::

    python -m bench.torch_loop --members 1,8,64 --steps 200 --threads 2
"""
import argparse
import sys
import time

import numpy as np

try:
    import torch
    from torch import nn
except ImportError:
    if __name__ != "__main__":
        raise  # bench.population and bench.speed say so themselves.
    print('error: bench.torch_loop: torch is not installed (pip install -e ".[bench]")',
          file=sys.stderr)
    sys.exit(2)

from bench.speed_child import matmul_gflops


def recurrent_layer(cell, input_size, hidden_size):
    """The torch layer of an rnnjax cell name."""
    if cell.startswith("rnn_"):
        return nn.RNN(input_size, hidden_size, nonlinearity=cell[4:], batch_first=True)
    return {"lstm": nn.LSTM, "gru": nn.GRU}[cell](input_size, hidden_size, batch_first=True)


class LSTMRegressor(nn.Module):
    """LSTM (or another cell), dropout on the last hidden state, linear head."""

    def __init__(self, input_size, hidden_size, output_size, dropout, cell="lstm"):
        super().__init__()
        self.lstm = recurrent_layer(cell, input_size, hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, output_size)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(self.dropout(out[:, -1]))


def make_data(num_examples, seq_len, input_size, output_size, generator):
    """Synthetic regression: target = scaled sum of x over time (plus noise)."""
    x = torch.randn(num_examples, seq_len, input_size, generator=generator)
    y = x.sum(dim=(1, 2), keepdim=False) / seq_len**0.5
    y = y[:, None].expand(-1, output_size).clone()
    y += 0.01 * torch.randn(y.shape, generator=generator)
    return x, y


def train_member(lr, dropout, x, y, *, hidden_size, batch_size, num_steps, generator,
                 cell="lstm"):
    """Train one fresh model on x's device; return its final training loss."""
    model = LSTMRegressor(x.shape[-1], hidden_size, y.shape[-1], dropout, cell)
    model = model.to(x.device)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.MSELoss()
    for _ in range(num_steps):
        idx = torch.randint(0, x.shape[0], (batch_size,), generator=generator,
                            device=x.device)
        opt.zero_grad()
        loss = loss_fn(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
    return float(loss.item())


def train_torch_loop(learning_rates, dropouts, *, hidden_size=64, seq_len=32,
                     batch_size=32, num_steps=200, input_size=1, output_size=1,
                     threads=2, seed=0, cell="lstm", device="cpu"):
    """Train len(learning_rates) models sequentially; return timing dict.

    device: "cpu", or "cuda" for the same loop on a GPU (cuDNN's LSTM; the data and the
    batch indices live on the GPU, and each member ends with `loss.item()`, which waits
    for its last step).
    """
    assert len(learning_rates) == len(dropouts) and len(learning_rates) > 0
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    x, y = make_data(max(1024, 8 * batch_size), seq_len, input_size, output_size,
                     torch.Generator().manual_seed(seed))
    x, y = x.to(device), y.to(device)
    gen = torch.Generator(device=device).manual_seed(seed)
    kw = dict(hidden_size=hidden_size, batch_size=batch_size,
              num_steps=num_steps, generator=gen, cell=cell)
    losses, times = [], []
    for lr, dp in zip(learning_rates, dropouts):
        t0 = time.perf_counter()
        losses.append(train_member(float(lr), float(dp), x, y, **kw))
        times.append(time.perf_counter() - t0)
    p = len(times)
    steady = (sum(times[1:]) / ((p - 1) * num_steps) if p > 1
              else times[0] / num_steps)
    return {
        "num_members": p,
        "total_s": sum(times),
        "first_member_s": times[0],
        "steady_ms_per_member_step": 1e3 * steady,
        "final_losses": losses,
    }


def population_hparams(p):
    """Log-spaced lrs in [1e-3, 1e-2]; dropouts cycling over (0.0, 0.1, 0.2)."""
    lrs = np.logspace(-3, -2, p).tolist()
    dps = [(0.0, 0.1, 0.2)[i % 3] for i in range(p)]
    return lrs, dps


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", default="1,8,64")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, threads={args.threads}")
    for p in (int(s) for s in args.members.split(",")):
        lrs, dps = population_hparams(p)
        r = train_torch_loop(lrs, dps, num_steps=args.steps, threads=args.threads)
        print(f"torch_loop P={p} steady_ms_per_member_step="
              f"{r['steady_ms_per_member_step']:.3f} "
              f"first_member_s={r['first_member_s']:.3f}", flush=True)
    print(f"matmul_gflops n=2048 float32 numpy: {matmul_gflops():.1f}")


if __name__ == "__main__":
    main()
