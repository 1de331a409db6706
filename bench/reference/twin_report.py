"""The line every PyTorch twin ends with: one JSON object on stdout (and in --result when given) with its
steady-state time per step (the median after 5 warm-up steps), the items per second that time gives, its
peak memory (CUDA's allocator peak, or the process's maximum resident set on the CPU), the twin's own
figures, the torch version and the flags it ran with, so a test or benchmark can check what was run."""
import json
import resource

import torch


def report(args, device, step_times, items_per_step, figures, leave_out=(), rename=None):
    steady = sorted(step_times[min(5, len(step_times) - 1):])
    ms = 1e3 * steady[len(steady) // 2]
    peak = (torch.cuda.max_memory_allocated() if device.type == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    flags = {name.replace("_", "-"): value for name, value in vars(args).items()
             if name not in ("result", *leave_out)}
    for old, new in (rename or {}).items():
        flags[new] = flags.pop(old)
    line = json.dumps({"impl": "pytorch", "ms_per_step": ms, "images_per_second": items_per_step / ms * 1e3,
                       "peak_memory_bytes": peak, **figures, "torch": torch.__version__, "flags": flags})
    print(line)
    if args.result:
        with open(args.result, "w") as f:
            f.write(line + "\n")
