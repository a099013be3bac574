"""The peer: the same generator training in PyTorch, as the published examples write it.

One thread, float32, a fixed latent batch z, a frozen oracle (parameters with
requires_grad=False), torch.optim.Adam at a constant rate, loss = mean squared distance of
oracle(G(z)) to the target. Shapes as in bench/train_bench.cpp. The loop does not read the
loss back each step (invsweep does, for early stopping and the loss curve): that favours the
peer slightly. Prints one `key=value` line like invsweep_bench.

    /usr/bin/python3 bench/peer_torch.py CASE [STEPS]
"""
import sys
import time

import torch

CASES = {
    # oracle widths; generator latent, hidden; batch
    "tiny": ([1, 32, 32, 1], 4, [32, 32], 64),
    "small": ([4, 64, 64, 1], 8, [64, 64], 256),
    "large": ([16, 256, 256, 256, 4], 32, [256, 256], 1024),
}


def mlp(widths):
    layers = []
    for i in range(len(widths) - 1):
        layers.append(torch.nn.Linear(widths[i], widths[i + 1]))
        if i + 2 < len(widths):
            layers.append(torch.nn.Tanh())
    return torch.nn.Sequential(*layers)


def train(oracle, gen, z, target, steps):
    opt = torch.optim.Adam(gen.parameters(), lr=1e-3)
    for _ in range(steps):
        opt.zero_grad()
        u = oracle(gen(z))
        loss = ((u - target) ** 2).sum(dim=1).mean()
        loss.backward()
        opt.step()
    return float(loss)


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    name = sys.argv[1]
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    o_widths, latent, hidden, batch = CASES[name]
    oracle = mlp(o_widths)
    for p in oracle.parameters():
        p.requires_grad_(False)
    z = torch.randn(batch, latent)
    target = torch.full((o_widths[-1],), 0.3)

    def fresh_generator():
        return mlp([latent] + hidden + [o_widths[0]])

    train(oracle, fresh_generator(), z, target, max(2, steps // 10))  # warm-up
    gen = fresh_generator()
    t0 = time.perf_counter()
    final = train(oracle, gen, z, target, steps)
    secs = time.perf_counter() - t0
    print(f"case={name} steps={steps} seconds={secs:.4f} steps_per_s={steps / secs:.2f} final_loss={final:.3g} "
          f"torch={torch.__version__} threads={torch.get_num_threads()}")


if __name__ == "__main__":
    main()
