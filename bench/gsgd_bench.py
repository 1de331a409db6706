"""g-SGD's step against SGD's (bench/gsgd_bench.cpp) with PyTorch's SGD step on the same MLP beside them, in
one run: ReLU MLP 784-H-H-10, float32, batch 128, one step = forward, cross-entropy, backward, update.
PyTorch has no g-SGD, so it anchors the SGD side: the table gives g-SGD / SGD within trifecta (the issue's
bound is 1.5) and trifecta's SGD step / PyTorch's.

    /usr/bin/python3 bench/gsgd_bench.py --build build [--device cpu] [--widths 128,256,512,1024]
        [--threads 1] [--repeat 3] [--json out.json]

With TRIFECTA_BENCH_CLOCK=cpu (and --threads 1) both sides time single-threaded CPU time, the fair measure on
a machine whose cores other jobs crowd; PyTorch's side then uses time.process_time. --repeat alternates the
sides and keeps each one's fastest median.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "reference"))
from torch_env import torch_env  # noqa: E402

TORCH_STEP = r"""
import json, statistics, sys, time
import torch
width, batch, device, threads, cpu_clock = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5] == "1"
torch.set_num_threads(threads)
torch.manual_seed(7)
net = torch.nn.Sequential(torch.nn.Linear(784, width), torch.nn.ReLU(), torch.nn.Linear(width, width),
                          torch.nn.ReLU(), torch.nn.Linear(width, 10)).to(device)
x = torch.randn(batch, 784, device=device)
y = (torch.arange(batch) % 10).to(device)
opt = torch.optim.SGD(net.parameters(), lr=0.0)
def step():
    opt.zero_grad(set_to_none=True)
    torch.nn.functional.cross_entropy(net(x), y).backward()
    opt.step()
clock = time.process_time if cpu_clock else time.perf_counter
sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
for _ in range(3): step()
sync()
t0 = clock(); step(); sync(); single = max(clock() - t0, 1e-7)
per_batch = max(1, int(1e-3 / single + 0.999))
samples, start = [], clock()
while len(samples) < 10 or clock() - start < 0.3:
    t0 = clock()
    for _ in range(per_batch): step()
    sync()
    samples.append((clock() - t0) * 1e3 / per_batch)
    if len(samples) >= 1000: break
print(json.dumps({"torch_sgd_step_ms": statistics.median(samples)}))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--widths", default="128,256,512,1024")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    cpu_clock = os.environ.get("TRIFECTA_BENCH_CLOCK") == "cpu"
    env = torch_env(args.threads)

    rows = []
    for width in args.widths.split(","):
        best = None
        torch_best = float("inf")
        for _ in range(args.repeat):
            out = subprocess.run([os.path.join(args.build, "bench", "gsgd_bench"), "--device", args.device,
                                  "--batch", str(args.batch), "--widths", width, "--threads", str(args.threads),
                                  "--repeat", "1"], env=env, check=True, capture_output=True, text=True).stdout
            row = json.loads(out.strip().splitlines()[-1])
            if best is None:
                best = row
            else:
                for key in ("sgd_step_ms", "gsgd_step_ms", "sgd_update_ms", "gsgd_update_ms"):
                    best[key] = min(best[key], row[key])
            torch_out = subprocess.run([sys.executable, "-c", TORCH_STEP, width, str(args.batch), args.device,
                                        str(args.threads), "1" if cpu_clock else "0"],
                                       env=env, check=True, capture_output=True, text=True).stdout
            torch_best = min(torch_best, json.loads(torch_out)["torch_sgd_step_ms"])
        best["step_ratio"] = best["gsgd_step_ms"] / best["sgd_step_ms"]
        best["update_ratio"] = best["gsgd_update_ms"] / best["sgd_update_ms"]
        best["torch_sgd_step_ms"] = torch_best
        best["sgd_vs_torch"] = best["sgd_step_ms"] / torch_best
        rows.append(best)

    print(f"MLP 784-H-H-10, batch {args.batch}, {args.device}, {args.threads} thread(s), "
          f"{'CPU time' if cpu_clock else 'wall clock'}, best of {args.repeat}")
    print("| H | SGD step ms | g-SGD step ms | g-SGD / SGD step | SGD update ms | g-SGD update ms | "
          "PyTorch SGD step ms | trifecta SGD / PyTorch |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['width']} | {r['sgd_step_ms']:.3f} | {r['gsgd_step_ms']:.3f} | {r['step_ratio']:.2f} | "
              f"{r['sgd_update_ms']:.3f} | {r['gsgd_update_ms']:.3f} | {r['torch_sgd_step_ms']:.3f} | "
              f"{r['sgd_vs_torch']:.2f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
