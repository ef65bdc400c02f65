"""The reference-style PyTorch pipeline on the GPU for every case of the GPU table, one JSON line each.

Runs reference_pipeline.run in one process (torch's import and CUDA start-up paid once), bf16 by
default, and first measures the device-to-device copy rate the floors are taken at:

  python3 bench/peer/gpu_sweep.py --tokens 4096 32768 131072 > peer.jsonl
"""

import argparse
import json
import sys
import time

import torch

import reference_pipeline


def copy_rate_gbps(megabytes=1024, runs=20):
    """Bytes read plus bytes written per second of a device-to-device copy, best of `runs`."""
    src = torch.empty(megabytes << 20, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)
    dst.copy_(src)
    torch.cuda.synchronize()
    best = 0.0
    for _ in range(runs):
        start = time.perf_counter()
        dst.copy_(src)
        torch.cuda.synchronize()
        best = max(best, 2 * src.numel() / (time.perf_counter() - start) / 1e9)
    return best


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tokens", type=int, nargs="+", default=[4096, 32768, 131072])
    p.add_argument("--methods", nargs="+", default=["snapkv", "adakv"])
    p.add_argument("--scores", nargs="+", default=["attention", "mixkv"])
    p.add_argument("--dtype", default="bf16")
    p.add_argument("--repeat", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    a = p.parse_args()
    if not torch.cuda.is_available():
        sys.exit("gpu_sweep.py: torch sees no CUDA device")
    print(json.dumps({"copy_gbps": copy_rate_gbps(), "device": torch.cuda.get_device_name(), "torch": torch.__version__}), flush=True)
    for tokens in a.tokens:
        for method in a.methods:
            for score in a.scores:
                argv = ["--device", "cuda", "--dtype", a.dtype, "--tokens", str(tokens), "--method", method, "--score", score,
                        "--repeat", str(a.repeat), "--warmup", str(a.warmup)]
                result = reference_pipeline.run(argv)
                result.pop("times_ms", None)
                print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
