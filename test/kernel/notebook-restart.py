"""Runs a notebook through a real kernel with a real kernel restart in the middle, as a user would.

Usage: notebook-restart.py NOTEBOOK.ipynb
The code cells before the markdown cell tagged "restart-kernel" run in one kernel process; then the kernel is
restarted (KernelManager.restart_kernel: a shutdown_request, then a new process) and the code cells after the tag
run in the new one. A phase stops at its first failing cell (the rest would fail for the same reason), and the
restart happens only if the first phase succeeded. The notebook file is not modified.

Prints one JSON line: {"notebook", "seconds", "restart_index", "kernel_pids": [before, after], "cells": [{"index",
"phase", "status", "seconds", "stdout", "stderr", "error", "msg_types", "mimes"}], "kernel_stderr"}.
"""
import json
import os
import sys
import tempfile
import time

import nbformat
from jupyter_client.manager import KernelManager

from common import execute, kernel_name

CELL_TIMEOUT = 300
TAG = "restart-kernel"


def restart_index(nb):
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and TAG in cell.get("metadata", {}).get("tags", []):
            return i
    raise SystemExit(f"no markdown cell tagged {TAG!r} in the notebook")


def connect(km):
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    return kc


def run_cell(kc, index, phase, source):
    t0 = time.time()
    reply, outs = execute(kc, source, timeout=CELL_TIMEOUT)
    stdout = "".join(m["content"]["text"] for m in outs if m["msg_type"] == "stream" and m["content"]["name"] == "stdout")
    stderr = "".join(m["content"]["text"] for m in outs if m["msg_type"] == "stream" and m["content"]["name"] == "stderr")
    error = None
    for m in outs:
        if m["msg_type"] == "error":
            error = {"ename": m["content"]["ename"], "evalue": m["content"]["evalue"], "traceback": m["content"]["traceback"][-8:]}
    if reply.get("status") != "ok" and error is None:
        error = {"ename": reply.get("ename", reply.get("status")), "evalue": reply.get("evalue", ""), "traceback": []}
    mimes = sorted({k for m in outs if m["msg_type"] in ("display_data", "update_display_data", "execute_result") for k in m["content"]["data"]})
    return {
        "index": index, "phase": phase, "status": reply.get("status"), "seconds": round(time.time() - t0, 1),
        "stdout": stdout[-4000:], "stderr": stderr[-2000:], "error": error,
        "msg_types": [m["msg_type"] for m in outs], "mimes": mimes,
    }


def run_phase(kc, nb, indices, phase, cells):
    for i in indices:
        cell = nb.cells[i]
        if cell.cell_type != "code":
            continue
        result = run_cell(kc, i, phase, cell.source)
        cells.append(result)
        if result["status"] != "ok":
            return False
    return True


def main(path):
    nb = nbformat.read(path, as_version=4)
    split = restart_index(nb)
    log = os.path.join(tempfile.mkdtemp(prefix="orz-kernel-log-"), "kernel-stderr.log")
    km = KernelManager(kernel_name=kernel_name())
    # The notebook's directory as the kernel's working directory, as a front end does (restart keeps it).
    km.start_kernel(cwd=os.path.dirname(os.path.abspath(path)), stderr=open(log, "w"))
    t0 = time.time()
    cells, pids = [], [km.provisioner.process.pid]
    kc = connect(km)
    try:
        if run_phase(kc, nb, range(split), "before", cells):
            kc.stop_channels()
            km.restart_kernel(now=False)
            pids.append(km.provisioner.process.pid)
            kc = connect(km)
            run_phase(kc, nb, range(split + 1, len(nb.cells)), "after", cells)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    with open(log) as f:
        kernel_stderr = f.read()[-3000:]
    print(json.dumps({
        "notebook": os.path.basename(path), "seconds": round(time.time() - t0, 1), "restart_index": split,
        "kernel_pids": pids, "cells": cells, "kernel_stderr": kernel_stderr,
    }), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
