#!/usr/bin/python3.11
"""The peer we compare against: one MixKV layer compressed the way the authors' PyTorch code does it.

Written from ../shared/spec/MIXKV.md (sections 2-6), not copied from any implementation. The point is
to reproduce the *shape of the work* of the reference implementation on the CPU, op for op:

  repeat_kv (keys copied per query head) -> one matmul materialising the [Hq, W, N] logits / sqrt(D)
  -> causal mask on the window block -> softmax in fp32 -> mean over the window -> GQA mean
  -> avg_pool1d(k=5, pad=2) -> per KV head (Python loop): value norms, key diversity against the mean
  unit key, redundancy, fit() and the mix -> budget (SnapKV uniform; AdaKV's global top-k) -> per head
  (Python loop) a FULL sort of all P scores, take the cap, gather K/V rows, concatenate.

Deviations of the spec are followed (probabilities stay fp32 through the mean; r_h clamped to [0, 1];
max == min value norms give 0), so the work equals what our backends do. Kept rows are put in
ascending position order (spec section 6); that costs one sort of `cap` indices per head.

It times R repetitions after K warm-up runs on the same (never mutated) inputs, measures the
machine's sgemm rate (torch.mm of two 4096x4096 fp32 matrices, best of several), and prints one JSON
object on stdout. Run it with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset (bench/peer/compare.sh does).

With --device cuda (bench/gpu-check.sh) the same ops run on the GPU in the cache's dtype (--dtype bf16:
the matmul in bf16, softmax in fp32, as the authors' code runs); every stage ends with a device
synchronisation so its time is the GPU's, and the sgemm measurement is skipped.
"""

import argparse
import ctypes
import json
import math
import os
import platform
import statistics
import sys
import time

import torch
import torch.nn.functional as F

FIT_EPS = 1e-8  # spec section 3
KEY_NORM_FLOOR = 1e-12  # spec section 3
POOL_KERNEL = 5  # spec section 2
FLOOR_ALPHA = 0.2  # spec section 5 (AdaKV)
STAGES = ("window_scores", "head_stats", "mix", "budget", "select", "gather")


def repeat_kv(x, n_rep):
    """[Hkv, N, D] -> [Hkv * n_rep, N, D], materialised (as transformers' repeat_kv is before the matmul)."""
    if n_rep == 1:
        return x
    hkv, n, d = x.shape
    return x[:, None, :, :].expand(hkv, n_rep, n, d).reshape(hkv * n_rep, n, d)


def window_scores(keys, queries, window):
    """Spec section 2: A [Hkv, P], the pooled mean attention mass of the window queries on the prefix."""
    hkv, n, d = keys.shape
    hq = queries.shape[0]
    group = hq // hkv
    prefix = n - window
    k = repeat_kv(keys, group)  # [Hq, N, D]
    q = queries[:, -window:, :]  # [Hq, W, D]
    logits = torch.matmul(q, k.transpose(1, 2)) / math.sqrt(d)  # [Hq, W, N]
    mask = torch.full((window, window), torch.finfo(logits.dtype).min, dtype=logits.dtype, device=logits.device)
    cond = torch.arange(window, device=logits.device)
    mask.masked_fill_(cond < (cond + 1).view(window, 1), 0)  # row w may see window keys 0..w
    logits[:, :, -window:] += mask[None, :, :]
    probs = F.softmax(logits, dim=-1, dtype=torch.float32)
    mass = probs[:, :, :prefix].mean(dim=-2)  # [Hq, P]
    mass = mass.view(hkv, group, prefix).mean(dim=1)  # GQA mean -> [Hkv, P]
    return F.avg_pool1d(mass, kernel_size=POOL_KERNEL, padding=POOL_KERNEL // 2, stride=1)


def fit(s, a_mean):
    return s * a_mean / (s.mean() + FIT_EPS)


def head_stats(keys, values, prefix):
    """Spec section 3, per KV head: value-norm score, diversity score (unfitted) and redundancy r_h."""
    n = keys.shape[1]
    out = []
    for h in range(keys.shape[0]):
        vn = values[h, :prefix].float().norm(dim=-1)
        lo, hi = vn.min(), vn.max()
        vnorm = (vn - lo) / (hi - lo) if hi > lo else torch.zeros_like(vn)
        unit = F.normalize(keys[h].float(), dim=-1, eps=KEY_NORM_FLOOR)  # [N, D]
        mu = unit.mean(dim=0)  # mean unit key over ALL N tokens
        div = -(unit[:prefix] @ mu)
        div = (div - div.min()) / (div.max() - div.min() + FIT_EPS)
        r = ((n * mu.dot(mu) - 1) / (n - 1)).clamp(0.0, 1.0) if n > 1 else torch.tensor(0.0, device=keys.device)
        out.append((vnorm, div, r))
    return out


def mix(attention, stats, score):
    """Spec section 4, per KV head."""
    rows = []
    for h, (vnorm, div, r) in enumerate(stats):
        a = attention[h]
        a_mean = a.mean()
        if score == "attention":
            rows.append(a)
        elif score == "mixkv":
            rows.append(r * fit(div, a_mean) + (1 - r) * (a + fit(vnorm, a_mean)))
        else:
            raise ValueError(f"score {score!r} is not part of the peer benchmark (attention|mixkv)")
    return rows


def budget_caps(method, attention, budget, window):
    """Spec section 5: prefix tokens kept per KV head."""
    hkv, prefix = attention.shape
    base = budget - window
    if method == "snapkv":
        return [min(max(base, 0), prefix)] * hkv
    if method != "adakv":
        raise ValueError(f"method {method!r} is not part of the peer benchmark (snapkv|adakv)")
    sorted_a, _ = torch.sort(attention, dim=-1, descending=True)
    share = sorted_a[:, :base].sum(dim=-1, keepdim=True) / sorted_a.sum(dim=-1, keepdim=True)
    flat = (sorted_a * share).reshape(-1)
    top = torch.topk(flat, hkv * base).indices
    counts = torch.bincount(top // prefix, minlength=hkv).float()
    caps = torch.round(counts * (1 - FLOOR_ALPHA) + math.floor(base * FLOOR_ALPHA))  # half to even
    return [int(min(max(c, 0), prefix)) for c in caps.tolist()]


def compress(keys, values, queries, window, budget, method, score, clock):
    """One layer, all stages; returns (K' [T, D], V' [T, D], head_lens, positions [T])."""
    hkv, n, _ = keys.shape
    prefix = n - window
    if n < window or (method == "snapkv" and n < budget) or (method == "adakv" and budget - window > prefix):
        lens = [n] * hkv
        pos = torch.arange(n, dtype=torch.int32, device=keys.device).repeat(hkv)
        return keys.reshape(-1, keys.shape[-1]).clone(), values.reshape(-1, values.shape[-1]).clone(), lens, pos
    attention = window_scores(keys, queries, window)
    clock("window_scores")
    stats = head_stats(keys, values, prefix)
    clock("head_stats")
    scores = mix(attention, stats, score)
    clock("mix")
    caps = budget_caps(method, attention, budget, window)
    clock("budget")
    window_pos = torch.arange(prefix, n, device=keys.device)
    kept = []
    for h in range(hkv):
        order = torch.sort(scores[h], descending=True, stable=True).indices  # full sort over all P
        chosen, _ = torch.sort(order[: caps[h]])
        kept.append(torch.cat([chosen, window_pos]))
    clock("select")
    k_out = torch.cat([keys[h].index_select(0, idx) for h, idx in enumerate(kept)])
    v_out = torch.cat([values[h].index_select(0, idx) for h, idx in enumerate(kept)])
    positions = torch.cat(kept).to(torch.int32)
    clock("gather")
    return k_out, v_out, [len(idx) for idx in kept], positions


class StageClock:
    """Wall time per stage; on a GPU each reading waits for the device first (sync)."""

    def __init__(self, sync=lambda: None):
        self.sync = sync
        self.times = {s: 0.0 for s in STAGES}
        self.sync()
        self.last = time.perf_counter()

    def __call__(self, stage):
        self.sync()
        now = time.perf_counter()
        self.times[stage] += (now - self.last) * 1e3
        self.last = now


def sgemm_rate(size, runs):
    a = torch.randn(size, size)
    b = torch.randn(size, size)
    torch.mm(a, b)  # warm-up
    rates = []
    for _ in range(runs):
        t = time.perf_counter()
        torch.mm(a, b)
        rates.append(2.0 * size**3 / (time.perf_counter() - t) / 1e9)
    return max(rates), rates


def blas_info():
    """Which BLAS library torch loaded and, for OpenBLAS, its core (threadpoolctl when present)."""
    info = {"blas_library": None, "openblas_core": None, "openblas_config": None}
    try:
        from threadpoolctl import threadpool_info  # optional

        for pool in threadpool_info():
            if pool.get("internal_api") == "openblas":
                info.update(blas_library=pool.get("filepath"), openblas_core=pool.get("architecture"))
                return info
    except ImportError:
        pass
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            paths = {line.split()[-1] for line in maps if len(line.split()) >= 6}
        libs = sorted(p for p in paths if p.startswith("/") and "blas" in os.path.basename(p).lower())
        if libs:
            info["blas_library"] = libs[0]
            for path in libs:
                lib = ctypes.CDLL(path)
                if hasattr(lib, "openblas_get_corename"):
                    lib.openblas_get_corename.restype = ctypes.c_char_p
                    lib.openblas_get_config.restype = ctypes.c_char_p
                    info["blas_library"] = path
                    info["openblas_core"] = lib.openblas_get_corename().decode()
                    info["openblas_config"] = lib.openblas_get_config().decode().strip()
                    break
    except OSError:
        pass
    return info


def run(argv=None):
    """Parses the command line (or argv), benchmarks, returns the result object main() prints."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tokens", type=int, default=32768)
    p.add_argument("--q-heads", type=int, default=32)
    p.add_argument("--kv-heads", type=int, default=8)
    p.add_argument("--head-dim", type=int, default=128)
    p.add_argument("--window", type=int, default=32)
    p.add_argument("--budget", type=int, default=256)
    p.add_argument("--method", choices=["snapkv", "adakv"], default="snapkv")
    p.add_argument("--score", choices=["attention", "mixkv"], default="mixkv")
    p.add_argument("--repeat", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (the peer setting is 2)")
    p.add_argument("--sgemm-size", type=int, default=4096)
    p.add_argument("--sgemm-runs", type=int, default=5, help="0 skips the sgemm measurement")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="cuda: the same ops on the GPU")
    p.add_argument("--dtype", choices=["f32", "bf16", "f16"], default="f32", help="dtype of K, V and Q")
    a = p.parse_args(argv)
    if a.kv_heads < 1 or a.q_heads % a.kv_heads or a.tokens < 1 or a.head_dim < 1 or a.window < 1:
        p.error("need tokens, head-dim, window, kv-heads >= 1 and q-heads a multiple of kv-heads")
    if a.budget <= a.window or a.repeat < 1 or a.warmup < 0:
        p.error("need budget > window, repeat >= 1, warmup >= 0")

    if a.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: torch sees no CUDA device")
    torch.set_num_threads(a.threads)
    dtype = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16}[a.dtype]
    gen = torch.Generator().manual_seed(a.seed)
    keys, values, queries = (
        torch.randn(*shape, generator=gen).to(device=a.device, dtype=dtype)
        for shape in ((a.kv_heads, a.tokens, a.head_dim), (a.kv_heads, a.tokens, a.head_dim), (a.q_heads, a.window, a.head_dim))
    )
    checksum = (keys.double().sum() + values.double().sum() + queries.double().sum()).item()
    sync = torch.cuda.synchronize if a.device == "cuda" else (lambda: None)
    if a.device == "cuda":
        a.sgemm_runs = 0  # the CPU floor's measurement; meaningless beside a GPU pipeline

    times, stage_runs, kept = [], [], None
    with torch.inference_mode():
        for i in range(a.warmup + a.repeat):
            clock = StageClock(sync)
            start = clock.last
            k_out, v_out, lens, _ = compress(keys, values, queries, a.window, a.budget, a.method, a.score, clock)
            sync()
            elapsed = (time.perf_counter() - start) * 1e3
            if i >= a.warmup:
                times.append(elapsed)
                stage_runs.append(clock.times)
            kept = sum(lens)
            del k_out, v_out
        assert (keys.double().sum() + values.double().sum() + queries.double().sum()).item() == checksum, "inputs were mutated"
        gflops, rates = sgemm_rate(a.sgemm_size, a.sgemm_runs) if a.sgemm_runs > 0 else (None, [])

    result = {
        "peer": "pytorch-reference-style",
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "tokens": a.tokens,
        "q_heads": a.q_heads,
        "kv_heads": a.kv_heads,
        "head_dim": a.head_dim,
        "window": a.window,
        "budget": a.budget,
        "method": a.method,
        "score": a.score,
        "dtype": a.dtype,
        "device": torch.cuda.get_device_name() if a.device == "cuda" else "cpu",
        "repeat": a.repeat,
        "median_ms": statistics.median(times),
        "min_ms": min(times),
        "times_ms": times,
        "stages_ms": {s: statistics.median(r[s] for r in stage_runs) for s in STAGES},
        "kept_tokens": kept,
        "window_flop": 2.0 * a.q_heads * a.window * a.tokens * a.head_dim,
        "sgemm_size": a.sgemm_size,
        "sgemm_gflops": gflops,
        "sgemm_runs_gflops": rates,
        "openblas_env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS")},
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        **blas_info(),
    }
    return result


def main():
    json.dump(run(), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
