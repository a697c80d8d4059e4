#!/usr/bin/env python3
"""Scribe memory benchmark: the recorder's and the replayer's peak resident
memory while recording and replaying a program that makes N cheap syscalls.

Usage: python3 bench/memory.py [--counts 1000000,10000000] [--no-buffer-count N] [--pipe-count N]

A streaming recorder keeps its memory flat however long the program runs; the
table shows peak RSS (from wait4's rusage, which covers the recorder and the
program it reaps; the program itself stays under 2 MB) next to the trace size
and the time taken. The "pipe" row runs the program as `sh -c 'PROG N | cat'`:
cat waits in its first read for the whole run, so the replayer must not hold
the events in between in memory while it looks for cat's next one.
Standard library only; needs gcc and target/release/scribe.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIBE = os.path.join(REPO, "target", "release", "scribe")


def run(argv, out_path):
    """Runs argv with stdout to a file; returns (seconds, exit status, peak RSS in KiB)."""
    start = time.monotonic()
    with open(out_path, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
    return time.monotonic() - start, os.waitstatus_to_exitcode(status), usage.ru_maxrss


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--counts", default="1000000,10000000",
                    help="syscall counts to record with the syscall buffer (comma-separated)")
    ap.add_argument("--no-buffer-count", type=int, default=1000000,
                    help="syscall count to record with --no-syscall-buffer (0: skip)")
    ap.add_argument("--pipe-count", type=int, default=1000000,
                    help="syscall count to record in a pipeline to cat (0: skip)")
    args = ap.parse_args()
    if not os.path.exists(SCRIBE):
        sys.exit("no %s: run cargo build --release first" % SCRIBE)
    tmp = tempfile.mkdtemp(prefix="scribe-mem-")
    prog = os.path.join(tmp, "many_syscalls")
    subprocess.run(["gcc", "-O2", "-o", prog, os.path.join(REPO, "bench", "programs", "many_syscalls.c")],
                   check=True)
    cases = [(int(c), [], "alone") for c in args.counts.split(",") if c]
    if args.no_buffer_count:
        cases.insert(0, (args.no_buffer_count, ["--no-syscall-buffer"], "alone"))
    if args.pipe_count:
        cases.append((args.pipe_count, [], "pipe"))
    print("%-12s %-7s %-7s %10s %10s %12s %10s %10s %12s  %s" % (
        "syscalls", "buffer", "shape", "record s", "rec RSS", "trace", "replay s", "rep RSS", "native s", "replay ok"))
    for count, opts, shape in cases:
        trace = os.path.join(tmp, "t.scribe")
        command = [prog, str(count)] if shape == "alone" else ["sh", "-c", "%s %d | cat" % (prog, count)]
        native_s, _, _ = run(command, os.path.join(tmp, "native.out"))
        rec_s, rec_rc, rec_rss = run([SCRIBE, "record"] + opts + ["-o", trace, "--"] + command,
                                     os.path.join(tmp, "rec.out"))
        size = os.path.getsize(trace) if os.path.exists(trace) else 0
        rep_s, rep_rc, rep_rss = run([SCRIBE, "replay", trace], os.path.join(tmp, "rep.out"))
        with open(os.path.join(tmp, "rec.out"), "rb") as a, open(os.path.join(tmp, "rep.out"), "rb") as b:
            same = a.read() == b.read() and rec_rc == rep_rc == 0
        print("%-12d %-7s %-7s %10.2f %8.1f MB %9.1f MB %10.2f %8.1f MB %12.2f  %s" % (
            count, "off" if opts else "on", shape, rec_s, rec_rss / 1024, size / 1e6, rep_s, rep_rss / 1024,
            native_s, "yes" if same else "NO"))
        os.unlink(trace)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
