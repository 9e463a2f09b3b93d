"""Direct jupyter_client checks of the orz kernel: interrupts, comms, display updates, stdin, signatures,
errors, shutdown and restart. Prints one JSON line per check (see common.Checks). Usage: client.py [CHECK...]
"""
import os
import re
import signal
import sys
import tempfile
import threading
import time
from queue import Empty

from jupyter_client.session import Session

from common import Checks, drain, execute, expect, outputs_until_idle, reply_to, result_text, start, stream_text

ANSI = re.compile(r"\x1b\[[0-9;]*m")
LOG = os.path.join(tempfile.mkdtemp(prefix="orz-kernel-log-"), "kernel-stderr.log")
km, kc = start(stderr_path=LOG)


def interrupt_after(seconds, how="message"):
    def fire():
        time.sleep(seconds)
        if how == "message":
            km.interrupt_kernel()  # interrupt_mode "message": interrupt_request on control
        else:
            km.signal_kernel(signal.SIGINT)

    threading.Thread(target=fire, daemon=True).start()


def expect_interrupted(reply):
    expect(reply["status"] == "error", f"expected an error reply, got {reply['status']}")
    expect(reply["ename"] == "KeyboardInterrupt", f"expected KeyboardInterrupt, got {reply['ename']}: {reply.get('evalue')}")


def value_of(code):
    reply, outs = execute(kc, code)
    expect(reply["status"] == "ok", f"{code!r} failed: {reply}")
    return result_text(outs)


def check_interrupt_sync():
    execute(kc, "let before = 41")
    interrupt_after(1.5)
    t0 = time.time()
    reply, _ = execute(kc, "let i = 0\nwhile (true) { i++ }", timeout=30)
    expect_interrupted(reply)
    expect(value_of("before + 1") == "42", "a variable set before the loop was lost")
    expect(value_of("i > 0") == "true", "loop counter did not survive")
    return f"stopped after {time.time() - t0:.1f} s"


def check_interrupt_uninstrumented():
    # Code built with new Function is not compiled by the cell compiler: no loop checks, so the worker's
    # Runtime.terminateExecution fallback has to stop it.
    interrupt_after(1.5)
    reply, _ = execute(kc, "const spin = new Function('let n = 0; while (true) { n++ }')\nlet marker = 'kept'\nspin()", timeout=30)
    expect_interrupted(reply)
    expect(value_of("marker") == "'kept'", "state did not survive terminateExecution")
    return "terminated"


def check_interrupt_async():
    interrupt_after(1.5)
    reply, _ = execute(kc, "let k = 0\nwhile (true) { k++; await new Promise((r) => setTimeout(r, 10)) }", timeout=30)
    expect_interrupted(reply)
    k = int(value_of("k"))
    expect(k > 0, "async loop counter is 0")
    return f"k = {k}"


def check_interrupt_pending_promise():
    interrupt_after(1.0)
    reply, _ = execute(kc, "await new Promise(() => {})", timeout=30)
    expect_interrupted(reply)
    expect(value_of("1 + 1") == "2", "kernel unusable after interrupting a never-settling await")
    return "ok"


def wait_for_stream(msg_id, marker, timeout, failure):
    """Reads iopub until the stream output of `msg_id` contains `marker`; `failure` (with what came) after `timeout` s."""
    deadline = time.time() + timeout
    seen = ""
    while marker not in seen:
        expect(time.time() < deadline, f"{failure}: {seen!r}")
        m = kc.get_iopub_msg(timeout=timeout)
        if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "stream":
            seen += m["content"]["text"]


def check_interrupt_trainer():
    # trainer.run() watches the cell's AbortSignal: an interrupt lets it finish the step and return normally.
    reply, _ = execute(kc, "\n".join([
        "import { readRunConfig, trainerFromRunConfig } from 'orz'",
        "const rc0 = await readRunConfig('data/mini/train-config.json')",
        "rc0.trainer = { ...rc0.trainer, promptsPerIteration: 2, samplesPerPrompt: 2, criticUpdateSteps: 1, evalEvery: 1000 }",
        "rc0.evalLimit = 2",
        "const tr = await trainerFromRunConfig(rc0)",
    ]), timeout=120)
    expect(reply["status"] == "ok", f"trainer setup failed: {reply}")
    msg_id = kc.execute("const rows = await tr.run({ iterations: 1000, log: null, onIteration: (r) => console.log('ITER', r.iteration) })\nrows.length")
    wait_for_stream(msg_id, "ITER 1", 180, "no iteration finished")
    km.interrupt_kernel()
    reply = reply_to(kc, msg_id, timeout=120)["content"]
    outs = outputs_until_idle(kc, msg_id)
    expect(reply["status"] == "ok", f"trainer.run did not stop cleanly: {reply}")
    done = int(value_of("tr.iteration"))
    expect(0 < done < 1000 and result_text(outs) == str(done), f"iteration {done}, rows {result_text(outs)}")
    expect(value_of("(await tr.step()).iteration") == str(done + 1), "the trainer is not usable after the interrupt")
    return f"stopped after iteration {done}"


# Each case: (counter, a function declared in the cell, the cell). The cell keeps incrementing its counter
# in some way that outlives an abandoned cell unless the kernel stops it; it is interrupted after 1 s.
LEFTOVER_CASES = {
    "sync loop": ("syncN", "bumpSync", "let syncN = 0\nfunction bumpSync() { return ++syncN }\nwhile (true) { syncN++ }"),
    "async loop": ("asyncN", "bumpAsync", "let asyncN = 0\nconst bumpAsync = () => ++asyncN\nwhile (true) { asyncN++; await new Promise((r) => setTimeout(r, 5)) }"),
    "setInterval": ("intN", "bumpInt", "let intN = 0\nfunction bumpInt() { return ++intN }\nsetInterval(() => { intN++ }, 5)\nawait new Promise(() => {})"),
    "setTimeout chain": ("chainN", "bumpChain", "let chainN = 0\nfunction bumpChain() { return ++chainN }\nfunction tick() { chainN++; setTimeout(tick, 5) }\ntick()\nawait new Promise(() => {})"),
    # node:timers/promises is not the global setTimeout: only the .then callback's own check can stop this chain.
    "promise .then chain": ("thenN", "bumpThen", "import { setTimeout as pause } from 'node:timers/promises'\nlet thenN = 0\nfunction bumpThen() { return ++thenN }\nfunction step(): Promise<void> { thenN++; return pause(5).then(step) }\nvoid step()\nawait new Promise(() => {})"),
    "fire-and-forget async function": ("bgN", "bumpBg", "import { setTimeout as nap } from 'node:timers/promises'\nlet bgN = 0\nfunction bumpBg() { return ++bgN }\nasync function background() { for (;;) { bgN++; await nap(5) } }\nvoid background()\nawait new Promise(() => {})"),
}


def interrupt_once_running(code, settle=0.5):
    """The reply to `code` (which prints "running" first), interrupted `settle` s after it printed that."""
    msg_id = kc.execute(code)
    wait_for_stream(msg_id, "running", 60, "the cell did not start")
    time.sleep(settle)
    km.interrupt_kernel()
    reply = reply_to(kc, msg_id, timeout=30)["content"]
    outputs_until_idle(kc, msg_id)
    return reply


def check_interrupt_leftovers():
    # After an interrupt nothing of the cell may run again, while its variables and functions stay usable.
    with open(LOG) as f:
        log_start = len(f.read())
    results, failures = {}, []
    for case, (counter, fn, code) in LEFTOVER_CASES.items():
        try:
            expect_interrupted(interrupt_once_running(f"console.log('running')\n{code}"))
            unchanged = value_of(f"const {counter}0 = {counter}\nawait new Promise((r) => setTimeout(r, 300));\n[{counter}0 > 0, {counter} === {counter}0]")
            expect(unchanged == "[ true, true ]", f"counter still changes after the interrupt ([started, unchanged] = {unchanged})")
            before = int(value_of(counter))
            expect(value_of(f"{fn}()") == str(before + 1), f"{fn}() declared in the interrupted cell does not work")
            results[case] = before
        except AssertionError as e:  # every case reports, so a failure names all the leaks at once
            failures.append(f"{case}: {e}")
    expect(not failures, "; ".join(failures))
    # A later cell that calls into the interrupted cell's code asynchronously runs in its own context.
    expect(value_of("await Promise.resolve().then(bumpAsync)\nasyncN > 0") == "true", "a later cell's .then(bumpAsync) did not run")
    time.sleep(0.3)
    with open(LOG) as f:
        log = f.read()[log_start:]
    expect("from earlier cell work" not in log, f"an abandoned cell's stop was reported: {log[-800:]}")
    return results


def check_startup_single_kernel_info():
    # jupyter_client's wait_for_ready re-sends kernel_info every second until a reply comes. However slow the
    # start (this machine may be loaded), each request gets exactly one reply, to that request, and nothing
    # else arrives on shell. How fast the first reply comes is a benchmark (bench/kernel-startup.py), not a test.
    from jupyter_client import KernelManager
    from common import kernel_name
    km2 = KernelManager(kernel_name=kernel_name())
    km2.start_kernel()
    kc2 = km2.client()
    kc2.start_channels()
    try:
        sent, replies, t0 = [], [], time.time()
        while not replies and time.time() - t0 < 120:
            sent.append(kc2.kernel_info())
            try:
                replies.append(kc2.get_shell_msg(timeout=1.0))
            except Empty:
                pass
        expect(replies, "no kernel_info_reply within 120 s")
        first = time.time() - t0
        while len(replies) < len(sent) + 1:  # one more than sent: an extra reply must show up here
            try:
                replies.append(kc2.get_shell_msg(timeout=2.0))
            except Empty:
                break
        parents = [r["parent_header"].get("msg_id") for r in replies]
        types = {r["msg_type"] for r in replies}
        expect(types == {"kernel_info_reply"}, f"unexpected shell messages: {sorted(types)}")
        expect(sorted(parents) == sorted(sent), f"{len(sent)} requests got {len(replies)} replies (parents {parents}, sent {sent})")
        expect(value_of_on(kc2, "1 + 1") == "2", "the new kernel does not run cells")
    finally:
        kc2.stop_channels()
        km2.shutdown_kernel(now=True)
    return f"{len(sent)} request(s), one reply each; first after {first:.2f} s"


def value_of_on(client, code):
    reply, outs = execute(client, code)
    expect(reply["status"] == "ok", f"{code!r} failed: {reply}")
    return result_text(outs)


def check_sigint():
    interrupt_after(1.5, how="signal")
    reply, _ = execute(kc, "let s = 0\nwhile (true) { s++ }", timeout=30)
    expect_interrupted(reply)
    expect(int(value_of("s")) > 0, "counter lost after SIGINT")
    interrupt_after(1.0, how="signal")
    reply, _ = execute(kc, "let t = 0\nwhile (true) { t++; await new Promise((r) => setTimeout(r, 5)) }", timeout=30)
    expect_interrupted(reply)
    return "sync and async loops stopped by SIGINT"


def check_comms():
    reply, _ = execute(kc, "\n".join([
        "Jupyter.comm.register('echo', (comm, data) => {",
        "  comm.send({ opened: data })",
        "  comm.onMsg((d) => comm.send({ echo: d }))",
        "  comm.onClose(() => console.log('closed by client'))",
        "})",
    ]))
    expect(reply["status"] == "ok", f"register failed: {reply}")
    drain(kc)
    comm_id = "c0ffee"
    open_msg = kc.session.msg("comm_open", {"comm_id": comm_id, "target_name": "echo", "data": {"hi": 1}})
    kc.shell_channel.send(open_msg)
    outs = outputs_until_idle(kc, open_msg["header"]["msg_id"])
    sent = [m["content"] for m in outs if m["msg_type"] == "comm_msg"]
    expect(sent and sent[0]["data"] == {"opened": {"hi": 1}}, f"no comm_msg answering the open: {outs}")
    info = reply_to(kc, kc.comm_info(target_name="echo"))["content"]
    expect(info["comms"].get(comm_id, {}).get("target_name") == "echo", f"comm_info lacks the comm: {info}")
    m = kc.session.msg("comm_msg", {"comm_id": comm_id, "data": {"x": 2}})
    kc.shell_channel.send(m)
    outs = outputs_until_idle(kc, m["header"]["msg_id"])
    echoed = [o["content"]["data"] for o in outs if o["msg_type"] == "comm_msg"]
    expect(echoed == [{"echo": {"x": 2}}], f"echo mismatch: {echoed}")
    c = kc.session.msg("comm_close", {"comm_id": comm_id, "data": {}})
    kc.shell_channel.send(c)
    outs = outputs_until_idle(kc, c["header"]["msg_id"])
    expect("closed by client" in stream_text(outs, "stdout"), f"onClose handler did not run: {outs}")
    info = reply_to(kc, kc.comm_info())["content"]
    expect(comm_id not in info["comms"], "closed comm still listed")
    # Kernel-originated comm.
    reply, outs = execute(kc, "const kc1 = new Jupyter.comm.Comm('from-kernel', { a: 1 })\nkc1.send({ b: 2 })\nkc1.close()")
    outs = [o for o in outs if o["msg_type"].startswith("comm_")]
    types = [o["msg_type"] for o in outs]
    expect(types == ["comm_open", "comm_msg", "comm_close"], f"kernel comm messages: {types}")
    expect(outs[0]["content"]["target_name"] == "from-kernel" and outs[1]["content"]["data"] == {"b": 2}, f"{outs}")
    return "open/msg/close both ways, comm_info"


def check_update_display():
    reply, outs = execute(kc, "\n".join([
        "display({ 'text/plain': 'first' }, { raw: true, id: 'd1' })",
        "display({ 'text/plain': 'second' }, { raw: true, id: 'd1', update: true })",
        "display('plain value', { id: 'd2' })",
    ]))
    expect(reply["status"] == "ok", f"{reply}")
    outs = [o for o in outs if o["msg_type"] in ("display_data", "update_display_data")]
    kinds = [(o["msg_type"], o["content"].get("transient", {}).get("display_id"), o["content"]["data"].get("text/plain")) for o in outs]
    expect(kinds[0] == ("display_data", "d1", "first"), f"{kinds}")
    expect(kinds[1] == ("update_display_data", "d1", "second"), f"{kinds}")
    expect(kinds[2][0] == "display_data" and kinds[2][1] == "d2", f"{kinds}")
    return kinds


def check_stdin():
    msg_id = kc.execute("const answer = input('name? ');\n`hello ${answer}`", allow_stdin=True)
    req = kc.get_stdin_msg(timeout=30)
    expect(req["msg_type"] == "input_request" and req["content"]["prompt"] == "name? ", f"{req}")
    kc.input("orz")
    reply = reply_to(kc, msg_id)["content"]
    outs = outputs_until_idle(kc, msg_id)
    expect(reply["status"] == "ok", f"{reply}")
    expect(result_text(outs) == "'hello orz'", f"{outs}")
    reply, _ = execute(kc, "input('x')", allow_stdin=False)
    expect(reply["status"] == "error" and "stdin" in reply["evalue"], f"input without allow_stdin: {reply}")
    return "input_request answered"


def check_bad_signature():
    drain(kc)
    bad = Session(key=b"not-the-key", username=kc.session.username)
    msg = bad.msg("execute_request", {"code": "globalThis.forged = true", "silent": False, "store_history": True,
                                       "user_expressions": {}, "allow_stdin": False, "stop_on_error": True})
    bad.send(kc.shell_channel.socket, msg)
    time.sleep(2)
    try:
        got = kc.get_shell_msg(timeout=0.5)
        raise AssertionError(f"kernel answered a forged message: {got['msg_type']}")
    except Exception as e:
        if isinstance(e, AssertionError):
            raise
    expect(value_of("typeof globalThis.forged") == "'undefined'", "the forged cell ran")
    with open(LOG) as f:
        log = f.read()
    expect("bad message signature" in log, f"no log line for the dropped message: {log[-500:]}")
    return "dropped and logged"


def check_type_warning():
    reply, outs = execute(kc, "const n: number = 'not a number'\nconsole.log('ran', n)")
    expect(reply["status"] == "ok", f"{reply}")
    err = stream_text(outs, "stderr")
    expect(re.search(r"cell:1:\d+ - warning TS2322", err), f"no TS2322 warning on stderr: {err!r}")
    expect("ran not a number" in stream_text(outs, "stdout"), "the cell did not run")
    return err.strip()


def check_traceback_lines():
    code = "const a = 1\nfunction boom(): never {\n  throw new Error('bad')\n}\nboom()"
    reply, outs = execute(kc, code)
    expect(reply["status"] == "error" and reply["evalue"] == "bad", f"{reply}")
    tb = ANSI.sub("", "\n".join(reply["traceback"]))
    expect(re.search(r"line 3, in boom", tb) and re.search(r"line 5\b", tb), f"traceback lines not the cell's: {tb}")
    errors = [o for o in outs if o["msg_type"] == "error"]
    expect(len(errors) == 1, f"expected one error message on iopub, got {len(errors)}")
    return tb


def check_abort_after_error():
    first = kc.execute("await new Promise((r) => setTimeout(r, 500)); throw new Error('stop here')")
    second = kc.execute("globalThis.afterError = 1")
    third = kc.execute("globalThis.afterError = 2")
    r1 = reply_to(kc, first)["content"]
    r2 = reply_to(kc, second)["content"]
    r3 = reply_to(kc, third)["content"]
    expect(r1["status"] == "error", f"{r1}")
    expect(r2["status"] == "aborted" and r3["status"] == "aborted", f"queued executes not aborted: {r2} {r3}")
    drain(kc)
    expect(value_of("typeof globalThis.afterError") == "'undefined'", "an aborted cell ran")
    return "queued executes aborted"


def check_restart_and_shutdown():
    global km, kc
    value_of("let keep = 'before restart'")
    proc = km.provisioner.process
    km.restart_kernel(now=False)
    expect(proc.poll() is not None, "old kernel process still running after restart")
    kc.stop_channels()
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    expect(value_of("typeof keep") == "'undefined'", "state survived a restart")
    proc = km.provisioner.process
    t0 = time.time()
    km.shutdown_kernel(now=False)
    took = time.time() - t0
    expect(proc.returncode == 0, f"kernel exit code {proc.returncode} (killed instead of exiting?)")
    return f"restart ok, shutdown in {took:.1f} s"


CHECKS = {
    "interrupt_sync": check_interrupt_sync,
    "interrupt_uninstrumented": check_interrupt_uninstrumented,
    "interrupt_async": check_interrupt_async,
    "interrupt_pending_promise": check_interrupt_pending_promise,
    "interrupt_leftovers": check_interrupt_leftovers,
    "interrupt_trainer": check_interrupt_trainer,
    "sigint": check_sigint,
    "startup_single_kernel_info": check_startup_single_kernel_info,
    "comms": check_comms,
    "update_display": check_update_display,
    "stdin": check_stdin,
    "bad_signature": check_bad_signature,
    "type_warning": check_type_warning,
    "traceback_lines": check_traceback_lines,
    "abort_after_error": check_abort_after_error,
    "restart_and_shutdown": check_restart_and_shutdown,  # last: it replaces the kernel
}

if __name__ == "__main__":
    wanted = sys.argv[1:] or list(CHECKS)
    checks = Checks()
    try:
        for name in wanted:
            drain(kc)
            checks.run(name, CHECKS[name])
    finally:
        try:
            kc.stop_channels()
            if km.has_kernel:
                km.shutdown_kernel(now=True)
        except Exception:
            pass
    checks.exit()
