"""jupyter_kernel_test conformance checks for a TypeScript kernel (orz, or tslab for comparison).

Usage: ORZ_KERNEL_NAME=<kernel> [ORZ_KERNEL_FLAVOR=orz|tslab] conformance.py
Prints one JSON object: {"kernel": name, "checks": {check: {"status": pass|fail|error|skip, "detail": text}}}.
The samples are the same for every kernel except where the kernel's API to produce an output differs
(display: orz's display() vs tslab.display.html()); the protocol behaviour checked is the same.
"""
import json
import os
import sys
import time
import unittest
from queue import Empty

import jupyter_kernel_test as jkt
from jupyter_client.utils import run_sync
from jupyter_kernel_test.msgspec_v5 import validate_message

FLAVOR = os.environ.get("ORZ_KERNEL_FLAVOR", "orz")

DISPLAY_CODE = {
    "orz": "display({ 'text/html': '<b>hi</b>', 'text/plain': 'hi' }, { raw: true })",
    "tslab": "import * as tslab from 'tslab'\ntslab.display.html('<b>hi</b>')",
}


class TypeScriptKernelTests(jkt.KernelTests):
    kernel_name = os.environ.get("ORZ_KERNEL_NAME", "orz")
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = 'console.log("hello, world")'
    code_stderr = 'console.error("to stderr")'
    completion_samples = [
        {"text": "Math.flo", "matches": {"floor"}},
        {"text": "const orzCompletionValue = 1; orzCompletionV", "matches": {"orzCompletionValue"}},
    ]
    complete_code_samples = ["1 + 1", "const a = 1", "function f() { return 1 }"]
    incomplete_code_samples = ["function f() {", "const xs = [1, 2,", "if (true) {"]
    invalid_code_samples = ["const = 1;", "1 +* 2;"]
    code_generate_error = 'throw new Error("boom")'
    code_execute_result = [
        {"code": "6*7", "result": "42"},
        {"code": "'orz'.toUpperCase()", "result": "'ORZ'"},
        {"code": "[1, 2, 3].map((x) => x * 2)", "result": "[ 2, 4, 6 ]"},
    ]
    code_history_pattern = "6*7"
    supported_history_operations = ("tail", "range", "search")
    code_display_data = [{"code": DISPLAY_CODE.get(FLAVOR, DISPLAY_CODE["orz"]), "mime": "text/html"}]
    code_inspect_sample = "Math.floor"
    code_clear_output = "clearOutput()"
    code_stdin = "const orzInput = input('name? ');\n`hello ${orzInput}`"

    def test_stdin(self):
        """Not in jupyter_kernel_test 0.4.5: input() sends input_request on stdin and gets the reply's value."""
        self.flush_channels()
        msg_id = self.kc.execute(self.code_stdin, allow_stdin=True)
        try:
            request = self.kc.get_stdin_msg(timeout=jkt.TIMEOUT)
        except Empty:
            self.fail("no input_request on the stdin channel")
        # Not validate_message: jupyter_kernel_test 0.4.5's schema wants a number for the boolean "password"
        # (ipykernel fails it too).
        self.assertEqual(request["msg_type"], "input_request")
        self.assertEqual(request["content"]["prompt"], "name? ")
        self.assertIs(request["content"]["password"], False)
        self.assertEqual(request["parent_header"]["msg_id"], msg_id)
        self.kc.input("orz")
        reply = self.get_non_kernel_info_reply(timeout=jkt.TIMEOUT)
        validate_message(reply, "execute_reply", msg_id)
        self.assertEqual(reply["content"]["status"], "ok")
        results = []
        while True:
            msg = run_sync(self.kc.iopub_channel.get_msg)(timeout=jkt.TIMEOUT)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
            if msg["msg_type"] == "execute_result":
                results.append(msg["content"]["data"].get("text/plain"))
        self.assertEqual(results, ["'hello orz'"])


class JsonResult(unittest.TestResult):
    """Collects one status per test method (a failing subtest fails its test)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.checks = {}
        self.started = {}

    @staticmethod
    def name(test):
        test = getattr(test, "test_case", test)  # a subtest counts for its test method
        return getattr(test, "_testMethodName", None) or str(test)

    def _set(self, test, status, detail=""):
        name = self.name(test)
        previous = self.checks.get(name)
        if previous and previous["status"] in ("fail", "error"):
            return
        self.checks[name] = {"status": status, "detail": detail[-1500:]}

    def startTest(self, test):
        super().startTest(test)
        self.started[self.name(test)] = time.time()

    def addSuccess(self, test):
        self._set(test, "pass")

    def addFailure(self, test, err):
        self._set(test, "fail", self._exc_info_to_string(err, test))

    def addError(self, test, err):
        self._set(test, "error", self._exc_info_to_string(err, test))

    def addSkip(self, test, reason):
        if hasattr(test, "test_case"):
            return  # a skipped subtest (an optional history operation) does not skip the whole check
        self._set(test, "skip", reason)

    def addSubTest(self, test, subtest, err):
        if err is None:
            return
        kind = "fail" if issubclass(err[0], test.failureException) else "error"
        self._set(test, kind, f"{subtest._subDescription()}: {self._exc_info_to_string(err, subtest)}")

    def stopTest(self, test):
        super().stopTest(test)
        name = self.name(test)
        self.checks.setdefault(name, {"status": "pass", "detail": ""})
        self.checks[name]["seconds"] = round(time.time() - self.started.get(name, time.time()), 2)


def main():
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(TypeScriptKernelTests)
    result = JsonResult()
    suite.run(result)
    # Setup failures (kernel did not start) land in result.errors without a per-test entry.
    setup = [text for test, text in result.errors if JsonResult.name(test) not in result.checks]
    out = {"kernel": TypeScriptKernelTests.kernel_name, "flavor": FLAVOR, "checks": result.checks}
    if setup:
        out["setup_error"] = setup[0][-3000:]
    print(json.dumps(out))
    sys.exit(0)


if __name__ == "__main__":
    main()
