#!/usr/bin/env python3
"""Scribe benchmark of points in user code: preemptions and signal deliveries.

Usage: python3 bench/points.py [--runs N] [--no-build] [--json FILE]

A program that runs user code without syscalls (a spin-wait, a counting
loop, a compute loop interrupted by timer signals) can only be preempted or
given a signal at a point inside that code, which replay must find again.
For each workload this times the program natively, under `scribe record
--stats` and under `scribe replay --stats`, checks that every replay printed
what its recording printed, and reports, from the two --stats lines:

  - the points the recorder chose, by kind: spin-wait preemptions (same
    state twice: replay stops at the first pass), loop preemptions (replay
    finds them with an in-task check), preemptions at a return address, and
    signal deliveries; and the preemptions made at a syscall instead, with
    no point (a slice winds down to the task's next syscall first);
  - the traps (breakpoint hits and in-task check matches) and in-task
    checks replay used to find them;
  - replay time per point: (replay - native) / points.

It also times `make -j2` natively, recorded (processes in parallel), and
recorded with --serialize (all processes one at a time).

Standard library only; shares helpers with bench/run.py.
"""

import argparse
import json
import os
import re
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as common  # noqa: E402

REPO = common.REPO
TESTS = os.path.join(REPO, "tests", "programs")

RECORD_STATS = re.compile(
    r"points in user code: (\d+) spin-wait preemptions, (\d+) loop preemptions, "
    r"(\d+) at a return address, (\d+) signal deliveries(?:; (\d+) preemptions at a syscall)?")
REPLAY_STATS = re.compile(
    r"replayed \d+ events[^,]*, (\d+) preemptions and (\d+) signal points found with "
    r"(\d+) traps and (\d+) in-task checks \((\d+) removed by a guard\)")


def compile_program(tmp, src):
    exe = os.path.join(tmp, os.path.splitext(os.path.basename(src))[0])
    r = common.subprocess.run(["gcc", "-O2", "-pthread", "-o", exe, src],
                              capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("gcc %s: %s" % (src, r.stderr.strip()[:200]))
    return exe


def workloads(tmp):
    prog = lambda name, d=TESTS: compile_program(tmp, os.path.join(d, name + ".c"))
    return [
        dict(name="spin-wait", desc="a thread waits on a flag with pause, another computes",
             argv=[prog("spin_wait", common.PROGRAMS)], record=[]),
        dict(name="spin-count", desc="a thread counts while it waits on a flag",
             argv=[prog("spin_flag")], record=[]),
        dict(name="setitimer", desc="SIGALRM every 10 ms into a compute loop, 5 times",
             argv=[prog("setitimer")], record=[]),
        dict(name="racy-chaos", desc="4 threads x 5M unlocked increments, --chaos",
             argv=[prog("racy_counter"), "4", "5000000"], record=["--chaos"]),
        dict(name="busy-callers", desc="2 threads compute with a buffered getppid every few us",
             argv=[prog("busy_callers"), "60000"], record=[]),
    ]


def timed(argv, tmp, tag, i, timeout=600):
    out = os.path.join(tmp, "%s.%d.out" % (tag, i))
    err = os.path.join(tmp, "%s.%d.err" % (tag, i))
    secs, rc, timed_out = common.run_timed(argv, tmp, out, err, timeout)
    with open(out, "rb") as f:
        stdout = f.read()
    with open(err, errors="replace") as f:
        stderr = f.read()
    return dict(secs=secs, rc=rc, timed_out=timed_out, stdout=stdout, stderr=stderr)


def bench_points(w, scribe, tmp, runs):
    rows = []
    for i in range(runs):
        native = timed(w["argv"], tmp, w["name"] + ".native", i)
        trace = os.path.join(tmp, "%s.%d.trace" % (w["name"], i))
        rec = timed([scribe, "record", "--stats", "-o", trace] + w["record"] + ["--"] + w["argv"],
                    tmp, w["name"] + ".record", i)
        rep = timed([scribe, "replay", "--stats", trace], tmp, w["name"] + ".replay", i)
        rm = RECORD_STATS.search(rec["stderr"])
        pm = REPLAY_STATS.search(rep["stderr"])
        ok = (rec["stdout"] == rep["stdout"] and rec["rc"] == rep["rc"]
              and not rec["timed_out"] and not rep["timed_out"] and rm and pm)
        row = dict(native=native["secs"], record=rec["secs"], replay=rep["secs"], ok=bool(ok))
        if rm:
            row.update(spins=int(rm[1]), loops=int(rm[2]), lukewarm=int(rm[3]), signals=int(rm[4]),
                       at_syscalls=int(rm[5] or 0))
        if pm:
            row.update(found_preemptions=int(pm[1]), found_signals=int(pm[2]), hits=int(pm[3]),
                       checks=int(pm[4]), guards=int(pm[5]))
        if not ok:
            row["why"] = (rep["stderr"].strip().splitlines() or rec["stderr"].strip().splitlines()
                          or ["?"])[0][:160]
        rows.append(row)
        try:
            os.unlink(trace)
        except OSError:
            pass
    return rows


def median(rows, key):
    vals = [r[key] for r in rows if key in r]
    return statistics.median(vals) if vals else None


def bench_make(scribe, tmp, runs):
    d = common.setup_make(tmp, False)
    argv = ["make", "-C", d, "-B", "-j2", "-s"]
    times = {"native": [], "record": [], "serialized": []}
    ok = True
    for i in range(runs):
        times["native"].append(timed(argv, tmp, "make.native", i)["secs"])
        for mode, extra in (("record", []), ("serialized", ["--serialize"])):
            trace = os.path.join(tmp, "make.%s.%d.trace" % (mode, i))
            r = timed([scribe, "record", "-o", trace] + extra + ["--"] + argv, tmp, "make." + mode, i)
            ok &= r["rc"] == 0 and not r["timed_out"]
            times[mode].append(r["secs"])
            os.unlink(trace) if os.path.exists(trace) else None
    return {k: statistics.median(v) for k, v in times.items()}, ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--scribe", help="use this scribe binary")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    tmp = tempfile.mkdtemp(prefix="scribe-points-")
    scribe, notes = common.build_scribe(tmp, args)
    if not scribe:
        sys.exit("no scribe binary: " + "; ".join(notes))
    facts = common.machine_facts()
    print("# Points in user code: %s, %d runs each (medians)" % (facts.get("cpu"), args.runs))
    for n in notes:
        print("note:", n)
    print()
    header = ("| workload | native | record | replay | spin | loop | ret addr | signal | at syscall "
              "| traps | checks | guards | replay ms per point | replays ok |")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    results = {}
    for w in workloads(tmp):
        common.log("running %s" % w["name"])
        rows = bench_points(w, scribe, tmp, args.runs)
        results[w["name"]] = rows
        points = [r.get("spins", 0) + r.get("loops", 0) + r.get("lukewarm", 0) + r.get("signals", 0)
                  for r in rows]
        per_point = [1000 * (r["replay"] - r["native"]) / p for r, p in zip(rows, points) if p]
        m = lambda k: median(rows, k)
        print("| %s | %.3f s | %.3f s | %.3f s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d/%d |" % (
            w["name"], m("native"), m("record"), m("replay"), m("spins"), m("loops"), m("lukewarm"),
            m("signals"), m("at_syscalls"), m("hits"), m("checks"), m("guards"),
            "%.1f" % statistics.median(per_point) if per_point else "-",
            sum(r["ok"] for r in rows), len(rows)))
        for r in rows:
            if not r["ok"]:
                print("  failed run: %s" % r.get("why", "?"))
    common.log("running make -j2")
    make, make_ok = bench_make(scribe, tmp, args.runs)
    print()
    print("make -j2 (8 files): native %.3f s, recorded %.3f s (%.2fx), recorded with --serialize "
          "%.3f s (%.2fx)%s" % (make["native"], make["record"], make["record"] / make["native"],
                                make["serialized"], make["serialized"] / make["native"],
                                "" if make_ok else "  [a recording failed]"))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(facts=facts, points=results, make=make), f, indent=1)
    common.shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
