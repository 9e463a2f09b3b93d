# ORZ's own verdicts for the reward-orz-agreement bench. Reads cases as JSON lines
# ({"response", "groundTruth", "finishReason"}) on stdin and prints one 0/1 a line.
# The checker itself is not in this repository: argv[1] is a directory holding ORZ's
# math_utils.py, which the bench writes there from a fetched snapshot of ORZ's repository.
# What this file adds is only the glue ORZ's trainer puts around that module (see
# playground/orz_7b_ppo.py there): the <answer> regex, the reward-only-on-stop rule and
# is_equal(solution2answer(label), solution2answer(extracted)).
import asyncio
import importlib.metadata
import importlib.util
import json
import os
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor

# sympy's LaTeX parser insists on antlr4 runtime 4.11 by a version-string check; this machine has
# 4.13, which reads the 4.11-generated parser (same ATN format). Without this every parse_latex call
# would raise and ORZ's checker would silently lose its sympy path.
_real_version = importlib.metadata.version
# The antlr runtime prints a version warning on every parse, also from worker threads: the
# verdicts get the real stdout, everything else printed goes nowhere.
verdicts_out = sys.stdout
sys.stdout = open(os.devnull, "w")
importlib.metadata.version = lambda name: "4.11.0" if name == "antlr4-python3-runtime" else _real_version(name)

spec = importlib.util.spec_from_file_location("orz_math_utils", f"{sys.argv[1]}/math_utils.py")
orz = importlib.util.module_from_spec(spec)
spec.loader.exec_module(orz)
# The first parse loads the grammar and takes longer than ORZ's 1 s limit on a loaded machine.
orz.latex_eval("1")

# The pattern ORZ's trainer uses to take the final answer out of a response (a fact about ORZ's
# behaviour, restated here so that the verdicts come from the same extraction).
ANSWER_PATTERN = re.compile(r"<answer>.*?(\\boxed{.*}).*?</answer>", re.DOTALL)

executor = ThreadPoolExecutor(max_workers=4)


async def verdict(case):
    """(reward, timed_out): ORZ's reward, and whether its 1 s limit decided it."""
    matches = re.findall(ANSWER_PATTERN, case["response"])
    extracted = matches[-1] if matches else ""
    label, pred = orz.solution2answer(case["groundTruth"]), orz.solution2answer(extracted)
    started = time.monotonic()
    correct = await orz.is_equal(label, pred, executor)
    timed_out = False
    if not correct and time.monotonic() - started >= 1.0:
        # A timeout depends on the machine's load, not on the answer: take the checker's own
        # verdict without the limit, and report that this happened.
        timed_out = True
        correct = orz._is_latex_equal(label, pred)
    return (1 if case["finishReason"] == "stop" and correct else 0), timed_out


async def main():
    for line in sys.stdin:
        if line.strip():
            reward, timed_out = await verdict(json.loads(line))
            print(f"{reward} {int(timed_out)}", file=verdicts_out)
    verdicts_out.flush()


asyncio.run(main())
