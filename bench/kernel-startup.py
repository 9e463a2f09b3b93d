"""Kernel start-up: seconds from spawning the orz kernel (jupyter_client KernelManager.start_kernel) to the
reply to the first kernel_info_request, sent once right after the channels start (no retries, unlike
wait_for_ready, which re-sends every second). Also counts shell replies left over afterwards.

Usage (Debian's python with jupyter_client): bench/kernel-startup.py [--spawns N] [--label TEXT] [--out FILE]
Installs the kernel spec of this checkout into a temporary prefix; prints one JSON object.
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from queue import Empty

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def install_spec(prefix):
    orz = os.path.join(REPO, "bin", "orz.js")
    subprocess.run(["node", orz, "kernel", "install", "--prefix", prefix], check=True, capture_output=True)
    os.environ["JUPYTER_PATH"] = os.path.join(prefix, "share", "jupyter")
    os.environ["JUPYTER_DATA_DIR"] = os.path.join(prefix, "user-data")
    os.environ["JUPYTER_RUNTIME_DIR"] = os.path.join(prefix, "runtime")


def one_spawn():
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name="orz")
    t0 = time.perf_counter()
    km.start_kernel(stderr=subprocess.DEVNULL)
    kc = km.client()
    kc.start_channels()
    try:
        msg_id = kc.kernel_info()
        reply = kc.get_shell_msg(timeout=60)
        seconds = time.perf_counter() - t0
        assert reply["parent_header"].get("msg_id") == msg_id, reply["msg_type"]
        stale = 0
        while True:
            try:
                kc.get_shell_msg(timeout=0.5)
                stale += 1
            except Empty:
                break
        return seconds, stale
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spawns", type=int, default=5)
    ap.add_argument("--label", default="")
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    prefix = tempfile.mkdtemp(prefix="orz-startup-")
    try:
        install_spec(prefix)
        runs = [one_spawn() for _ in range(args.spawns)]
    finally:
        shutil.rmtree(prefix, ignore_errors=True)
    seconds = [round(s, 3) for s, _ in runs]
    result = {
        "label": args.label,
        "spawns": args.spawns,
        "median_seconds_to_first_kernel_info_reply": round(statistics.median(seconds), 3),
        "seconds": seconds,
        "stale_shell_replies": [n for _, n in runs],
        "node": subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared)",
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    sys.exit(main())
