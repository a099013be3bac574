"""Medians and ratios of the benchmark runs that bench/run.sh collected.

    summarize.py RUNS          training runs and GEMM (`side=... key=value ...` lines)
    summarize.py --sweeps LOG  the output of bench/sweep_scaling.sh, repeated
"""
import re
import statistics
import sys


def parse(path):
    rows = []
    with open(path) as f:
        for line in f:
            rows.append(dict(kv.split("=", 1) for kv in line.split() if "=" in kv))
    return rows


def training(path):
    rows = parse(path)
    med = statistics.median
    gemm = [float(r["gflops_median"]) for r in rows if r["side"] == "gemm"]
    peak = med(gemm)
    print(f"GEMM 2048x2048x2048 float32, one thread: median {peak:.1f} GFLOP/s "
          f"(runs: {', '.join(f'{g:.1f}' for g in gemm)})")
    peers = sorted({r["side"] for r in rows if r["side"].startswith("torch-")})
    head = f"{'case':6} {'steps':>5} {'invsweep steps/s':>17}"
    for p in peers:
        head += f" {p + ' steps/s':>22} {'ratio':>7}"
    head += f" {'MFLOP/step':>11} {'GFLOP/s':>8} {'% GEMM':>7} {'RSS MiB':>8}"
    print(head)
    for case in ("tiny", "small", "large"):
        mine = [r for r in rows if r["side"] == "invsweep" and r["case"] == case]
        if not mine:
            continue
        rate = med(float(r["steps_per_s"]) for r in mine)
        flops = float(mine[0]["flops_per_step"])
        line = f"{case:6} {mine[0]['steps']:>5} {rate:17.1f}"
        for p in peers:
            theirs = [float(r["steps_per_s"]) for r in rows if r["side"] == p and r["case"] == case]
            t = med(theirs)
            line += f" {t:22.1f} {rate / t:6.1f}x"
        gf = rate * flops * 1e-9
        rss = max(float(r["peak_rss_mib"]) for r in mine)
        line += f" {flops * 1e-6:11.2f} {gf:8.1f} {100 * gf / peak:6.0f}% {rss:8.1f}"
        print(line)
        spread = ", ".join(f"{float(r['steps_per_s']):.0f}" for r in mine)
        print(f"{'':6} invsweep runs: {spread}")
    print("FLOPs: 2 per multiply-add of the step's matrix products (generator forward, oracle forward, oracle "
          "backward to its inputs, generator backward to weights and to hidden inputs); element-wise work not counted.")


def sweeps(path):
    text = open(path).read()
    rate = {1: [], 2: []}
    for n, r in re.findall(r"^(\d) rank\(s\): ([\d.]+) tasks/s", text, re.M):
        rate[int(n)].append(float(r))
    runner = re.findall(r"runner: .*?computing ([\d.]+) %, scheduling ([\d.]+) %, writing HDF5 ([\d.]+) %, waiting "
                        r"[\d.]+ %, other [\d.]+ % of rank time; ([\d.e+-]+) ms per task outside computing", text)
    runner = [(solve, hdf5, sched, ms) for solve, sched, hdf5, ms in runner]  # the columns below
    med = statistics.median
    if rate[1] and rate[2]:
        r1, r2 = med(rate[1]), med(rate[2])
        ups = [b / a for a, b in zip(rate[1], rate[2])]
        print(f"sweep tasks/s: 1 rank {r1:.1f}, 2 ranks {r2:.1f} (medians of {len(rate[1])}); "
              f"speed-up {r2 / r1:.2f}x, parallel efficiency {50 * r2 / r1:.0f} % "
              f"(per repeat: {', '.join(f'{u:.2f}x' for u in ups)})")
    if runner:
        cols = list(zip(*[[float(v) for v in row] for row in runner]))
        print(f"runner shares (median over all runs): computing {med(cols[0]):.1f} %, HDF5 {med(cols[1]):.2f} % "
              f"(max {max(cols[1]):.2f}), scheduling {med(cols[2]):.2f} % (max {max(cols[2]):.2f}); "
              f"{med(cols[3]):.3g} ms per task outside computing (max {max(cols[3]):.3g})")


if __name__ == "__main__":
    if sys.argv[1] == "--sweeps":
        sweeps(sys.argv[2])
    else:
        training(sys.argv[1])
