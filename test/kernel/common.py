"""Helpers shared by the kernel test drivers (run with Debian's /usr/bin/python3 and its jupyter_client).

The kernel under test is found through JUPYTER_PATH (a temporary directory the node test installs it into)
and its name through ORZ_KERNEL_NAME.
"""
import json
import os
import sys
import time
from queue import Empty

from jupyter_client.manager import KernelManager

TIMEOUT = 60


def kernel_name():
    return os.environ.get("ORZ_KERNEL_NAME", "orz")


def start(stderr_path=None):
    """A started KernelManager and a ready BlockingKernelClient. Kernel stderr goes to stderr_path if given."""
    km = KernelManager(kernel_name=kernel_name())
    kwargs = {}
    if stderr_path:
        kwargs["stderr"] = open(stderr_path, "w")
    km.start_kernel(**kwargs)
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=TIMEOUT)
    return km, kc


def drain(kc):
    """Throws away messages already waiting on shell and iopub."""
    for get in (kc.get_shell_msg, kc.get_iopub_msg):
        while True:
            try:
                get(timeout=0.2)
            except Empty:
                break


def reply_to(kc, msg_id, timeout=TIMEOUT):
    """The shell reply whose parent is msg_id (other replies are skipped)."""
    deadline = time.time() + timeout
    while True:
        left = deadline - time.time()
        if left <= 0:
            raise TimeoutError(f"no reply to {msg_id} within {timeout} s")
        msg = kc.get_shell_msg(timeout=left)
        if msg["parent_header"].get("msg_id") == msg_id:
            return msg


def outputs_until_idle(kc, msg_id, timeout=TIMEOUT):
    """iopub messages of request msg_id, up to its idle status (status messages excluded)."""
    out = []
    deadline = time.time() + timeout
    while True:
        left = deadline - time.time()
        if left <= 0:
            raise TimeoutError(f"no idle status for {msg_id} within {timeout} s")
        msg = kc.get_iopub_msg(timeout=left)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "status":
            if msg["content"]["execution_state"] == "idle":
                return out
            continue
        out.append(msg)


def execute(kc, code, timeout=TIMEOUT, **kwargs):
    """(reply content, iopub outputs) of running code."""
    msg_id = kc.execute(code, **kwargs)
    reply = reply_to(kc, msg_id, timeout)
    outs = outputs_until_idle(kc, msg_id, timeout)
    return reply["content"], outs


def result_text(outs):
    for m in outs:
        if m["msg_type"] == "execute_result":
            return m["content"]["data"].get("text/plain")
    return None


def stream_text(outs, name):
    return "".join(m["content"]["text"] for m in outs if m["msg_type"] == "stream" and m["content"]["name"] == name)


class Checks:
    """Runs named checks, printing one JSON line per check: {"check", "ok", "detail"}."""

    def __init__(self):
        self.failed = 0

    def run(self, name, fn):
        t0 = time.time()
        try:
            detail = fn()
            ok = True
        except Exception as e:  # a failed check reports and the others still run
            ok, detail = False, f"{type(e).__name__}: {e}"
            self.failed += 1
        print(json.dumps({"check": name, "ok": ok, "detail": detail, "seconds": round(time.time() - t0, 2)}), flush=True)

    def exit(self):
        sys.exit(1 if self.failed else 0)


def expect(cond, message):
    if not cond:
        raise AssertionError(message)
