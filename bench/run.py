#!/usr/bin/env python3
"""Scribe benchmark: native vs strace vs scribe record vs scribe replay.

Usage: python3 bench/run.py [--runs N] [--only NAME...] [--quick] [--json FILE]

For every workload, each run i times the command natively, under
`strace -f -o /dev/null`, under `scribe record --no-syscall-buffer` (every
syscall stops: the "nobuf" column), under `scribe record -o TRACE_i`, and under
`scribe replay TRACE_i` (the modes are interleaved run by run so that slow drift
of the machine affects all of them alike). stdout/stderr go to temp files, never
to a pipe read by this script. A replay is "ok" when its stdout is byte-identical
to the stdout of the recording it replays and its exit status is the recorded one.

Standard library only. See bench/README.md.
"""

import argparse
import filecmp
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGRAMS = os.path.join(REPO, "bench", "programs")
MODES = ("native", "strace", "nobuf", "record", "replay")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Machine facts

def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git(*args):
    try:
        r = subprocess.run(["git", "-C", REPO] + list(args), capture_output=True,
                           text=True, timeout=30)
        return r.stdout.strip() if r.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired):
        return None


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


def machine_facts():
    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no")
    if dirty:
        commit += " (+ uncommitted changes)"
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "cpu": cpu_model(),
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
        "cpus_usable": usable,
        "scribe_commit": commit,
        "python": platform.python_version(),
        "loadavg": loadavg(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
    }


# --------------------------------------------------------------------------
# Running one command

class Result:
    def __init__(self, mode, seconds, rc, timed_out, stderr_line, out_path=None,
                 trace_size=None):
        self.mode = mode
        self.seconds = seconds
        self.rc = rc
        self.timed_out = timed_out
        self.stderr_line = stderr_line
        self.out_path = out_path
        self.trace_size = trace_size
        self.ok = False          # set by the caller
        self.error = None        # "exit N: ..." when not ok
        self.replay_ok = None    # only for replay results

    def to_json(self):
        d = {"seconds": self.seconds, "exit": self.rc, "timed_out": self.timed_out,
             "ok": self.ok}
        if self.error:
            d["error"] = self.error
        if self.trace_size is not None:
            d["trace_bytes"] = self.trace_size
        if self.replay_ok is not None:
            d["replay_matches_record"] = self.replay_ok
        return d


def first_stderr_line(path):
    """First line of stderr; prefer a line that looks like scribe's own error."""
    try:
        with open(path, "rb") as f:
            data = f.read(1 << 20)
    except OSError:
        return ""
    lines = [l.strip() for l in data.decode("utf-8", "replace").splitlines() if l.strip()]
    if not lines:
        return ""
    for l in lines:
        low = l.lower()
        if low.startswith("scribe") or low.startswith("error") or "panicked" in low:
            return l
    return lines[0]


def run_timed(argv, cwd, out_path, err_path, timeout):
    """Run argv with stdout/stderr to files; return (seconds, rc, timed_out).

    This is subprocess.run() without its timeout argument: Popen.wait(timeout=...)
    (which subprocess.run uses when given a timeout) polls waitpid with sleeps of
    up to 50 ms, which would quantize the measured times (0.0315, 0.0635, 0.1135,
    0.1635 s, ...). Instead we block in waitpid and let a watchdog thread kill the
    process group we created if the timeout expires.
    """
    state = {"timed_out": False}
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=err, start_new_session=True)

        def kill():
            state["timed_out"] = True
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the command and its children
            except ProcessLookupError:
                pass
        timer = threading.Timer(timeout, kill)
        timer.daemon = True
        timer.start()
        try:
            rc = proc.wait()  # blocking waitpid, returns as soon as the child exits
        finally:
            timer.cancel()
        t1 = time.perf_counter()
    if state["timed_out"]:
        # Reap anything left in the group (e.g. a tracee orphaned by the kill).
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return t1 - t0, rc, state["timed_out"]


# --------------------------------------------------------------------------
# Workloads

def sh(cmd):
    return ["sh", "-c", cmd]


def python_bin():
    return "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else (
        shutil.which("python3") or sys.executable)


MAKE_C = """\
#include <stdio.h>
double work_{i}(int n);
double work_{i}(int n)
{{
    double s = 0;
    for (int k = 1; k <= n; k++)
        s += (double)(k % {m}) / (k + {i});
    return s;
}}
"""


def setup_make(tmp, quick):
    d = os.path.join(tmp, "makeproj")
    os.makedirs(d, exist_ok=True)
    objs = []
    for i in range(1, 8):
        with open(os.path.join(d, "w%d.c" % i), "w") as f:
            f.write(MAKE_C.format(i=i, m=i + 3))
        objs.append("w%d.o" % i)
    decls = "".join("double work_%d(int n);\n" % i for i in range(1, 8))
    calls = " + ".join("work_%d(1000)" % i for i in range(1, 8))
    with open(os.path.join(d, "main.c"), "w") as f:
        f.write("#include <stdio.h>\n%sint main(void)\n{\n"
                "    printf(\"%%.6f\\n\", %s);\n    return 0;\n}\n" % (decls, calls))
    objs.append("main.o")
    with open(os.path.join(d, "Makefile"), "w") as f:
        f.write("CC = gcc\nCFLAGS = -O2\nOBJS = %s\n\n"
                "all: prog\n\t@./prog\n\n"
                "prog: $(OBJS)\n\t$(CC) -o $@ $(OBJS)\n\n"
                "%%.o: %%.c\n\t$(CC) $(CFLAGS) -c -o $@ $<\n" % " ".join(objs))
    return d


def setup_sqlite(tmp, quick):
    rows = 5000 if quick else 20000
    path = os.path.join(tmp, "inserts.sql")
    with open(path, "w") as f:
        f.write("create table t(x);\nbegin;\n")
        for i in range(rows):
            f.write("insert into t values(%d);\n" % (i * 7919 % 100003))
        f.write("commit;\nselect count(*), sum(x) from t;\n")
    return path


def compile_c(tmp, name, extra=()):
    src = os.path.join(PROGRAMS, name + ".c")
    exe = os.path.join(tmp, name)
    r = subprocess.run(["gcc", "-O2", "-o", exe, src] + list(extra),
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("gcc %s failed: %s" % (name, r.stderr.strip()[:200]))
    return exe


def workloads(tmp, quick):
    """List of dicts: name, desc, needs (tools), setup() -> argv, pre() (untimed)."""
    W = []

    share = "/usr/share/doc" if quick else "/usr/share"
    W.append(dict(name="ls-lR", desc="ls -lR " + share, needs=["ls"],
                  setup=lambda: ["ls", "-lR", share]))

    W.append(dict(name="find-h", desc="find /usr -name '*.h' | wc -l", needs=["find", "wc"],
                  setup=lambda: sh("find /usr -name '*.h' | wc -l")))

    inc = "/usr/include/linux" if quick else "/usr/include"
    W.append(dict(name="tar-sha", desc="tar cf - %s | sha256sum" % inc,
                  needs=["tar", "sha256sum"],
                  setup=lambda: sh("tar cf - %s | sha256sum" % inc)))

    n = 50000 if quick else 200000
    W.append(dict(name="sh-pipe", desc="seq %d | sort -r | uniq | wc -l" % n,
                  needs=["seq", "sort", "uniq", "wc"],
                  setup=lambda: sh("seq %d | sort -r | uniq | wc -l" % n)))

    blocks = 20000 if quick else 50000
    W.append(dict(name="dd", desc="dd if=/dev/zero of=/dev/null bs=64 count=%d" % blocks,
                  needs=["dd"],
                  setup=lambda: ["dd", "if=/dev/zero", "of=/dev/null", "bs=64",
                                 "count=%d" % blocks, "status=none"]))

    def make_setup():
        d = setup_make(tmp, quick)
        return ["make", "-C", d, "-B", "-j2", "-s"]
    W.append(dict(name="make-j2", desc="make -B -j2 -s (8 .c files)", needs=["make", "gcc"],
                  setup=make_setup))

    py = python_bin()
    count = 20000 if quick else 100000
    script = ("import json,random; print(sum(json.loads(json.dumps("
              "[random.random() for _ in range(%d)]))))" % count)
    W.append(dict(name="python", desc="%s -c json/random x%d" % (py, count), needs=[py],
                  setup=lambda: [py, "-c", script]))

    cpu_iters = "300000000" if quick else "1200000000"
    W.append(dict(name="cpu", desc="cpu.c (%s iterations)" % cpu_iters, needs=["gcc"],
                  setup=lambda: [compile_c(tmp, "cpu"), cpu_iters]))

    mtx = "500000" if quick else "2000000"
    W.append(dict(name="mutex", desc="mutex.c (4 threads, %s lock pairs)" % mtx,
                  needs=["gcc"],
                  setup=lambda: [compile_c(tmp, "mutex", ["-pthread"]), mtx]))

    db = os.path.join(tmp, "b.db")

    def sqlite_setup():
        sql = setup_sqlite(tmp, quick)
        return sh("sqlite3 %s < %s" % (db, sql))

    def sqlite_pre():
        for suffix in ("", "-journal", "-wal", "-shm"):
            try:
                os.unlink(db + suffix)
            except FileNotFoundError:
                pass
    W.append(dict(name="sqlite", desc="sqlite3 b.db < inserts.sql (%d rows, 1 txn)"
                  % (5000 if quick else 20000), needs=["sqlite3"],
                  setup=sqlite_setup, pre=sqlite_pre))
    return W


# --------------------------------------------------------------------------
# Benchmark driver

def build_scribe(tmp, args):
    """Build (unless told not to) and copy the binary so concurrent rebuilds don't
    swap it under our feet in the middle of a run."""
    notes = []
    if args.scribe:
        src = args.scribe
    else:
        src = os.path.join(REPO, "target", "release", "scribe")
        if not args.no_build:
            log("building: cargo build --release")
            r = subprocess.run(["cargo", "build", "--release"], cwd=REPO,
                               capture_output=True, text=True)
            if r.returncode != 0:
                tail = (r.stderr.strip().splitlines() or ["?"])[-1]
                notes.append("cargo build --release failed (%s); using the existing binary"
                             % tail)
                log("WARNING: " + notes[-1])
    if not os.path.exists(src):
        return None, notes + ["no scribe binary at %s" % src]
    dst = os.path.join(tmp, "scribe-bin")
    shutil.copy2(src, dst)
    # The recorder looks for its preload library next to its binary.
    lib = os.path.join(os.path.dirname(src), "libscribe_preload.so")
    if os.path.exists(lib):
        shutil.copy2(lib, os.path.join(tmp, "libscribe_preload.so"))
    else:
        notes.append("no libscribe_preload.so next to %s: recording without the syscall buffer" % src)
    return dst, notes


def one_run(w, mode, i, argv, ctx):
    tmp, work, scribe, timeout = ctx["tmp"], ctx["work"], ctx["scribe"], ctx["timeout"]
    out = os.path.join(tmp, "out.%s.%d" % (mode, i))
    err = os.path.join(tmp, "err.%s.%d" % (mode, i))
    trace = os.path.join(tmp, "trace.%d.log" % i)
    if mode == "native":
        cmd = argv
    elif mode == "strace":
        cmd = ["strace", "-f", "-o", "/dev/null"] + argv
    elif mode == "nobuf":
        nobuf_trace = os.path.join(tmp, "trace.nobuf.%d.log" % i)
        if os.path.exists(nobuf_trace):
            os.unlink(nobuf_trace)
        cmd = [scribe, "record", "--no-syscall-buffer", "-o", nobuf_trace, "--"] + argv
    elif mode == "record":
        if os.path.exists(trace):
            os.unlink(trace)
        cmd = [scribe, "record", "-o", trace, "--"] + argv
    else:
        cmd = [scribe, "replay", trace]
    if w.get("pre"):
        w["pre"]()
    secs, rc, timed_out = run_timed(cmd, work, out, err, timeout)
    res = Result(mode, secs, rc, timed_out, first_stderr_line(err), out_path=out)
    if mode == "record" and os.path.exists(trace):
        res.trace_size = os.path.getsize(trace)
    try:
        os.unlink(err)
    except OSError:
        pass
    return res


def judge(res, expected_rc, tmp=None):
    if tmp and res.stderr_line:
        res.stderr_line = res.stderr_line.replace(tmp, "$TMP")
    if res.timed_out:
        res.error = "timeout after %.0f s" % res.seconds
    elif res.rc != expected_rc:
        rc = res.rc if res.rc >= 0 else "signal %d" % -res.rc
        res.error = "exit %s: %s" % (rc, res.stderr_line or "(no stderr)")
    res.ok = res.error is None


def bench_workload(w, args, ctx, have_strace):
    tmp = ctx["tmp"]
    entry = {"name": w["name"], "desc": w["desc"], "runs": {m: [] for m in MODES},
             "skipped": None, "notes": []}
    missing = [t for t in w["needs"] if not (shutil.which(t) or os.path.exists(t))]
    if missing:
        entry["skipped"] = "missing tool(s): " + ", ".join(missing)
        return entry
    try:
        argv = w["setup"]()
    except Exception as e:  # setup failure (e.g. compile error) skips the workload
        entry["skipped"] = "setup failed: %s" % e
        return entry
    entry["argv"] = argv

    # Untimed warm-up (page cache, dynamic loader caches); gives the reference status.
    warm = one_run(w, "native", 0, argv, ctx)
    expected_rc = warm.rc
    if warm.timed_out or warm.rc != 0:
        judge(warm, 0)
        entry["skipped"] = "native run failed: %s" % warm.error
        return entry

    modes = [m for m in MODES if m != "strace" or have_strace]
    if ctx["scribe"] is None:
        modes = [m for m in modes if m not in ("nobuf", "record", "replay")]
    gave_up = set()
    for i in range(1, args.runs + 1):
        rec = None
        for mode in modes:
            if mode == "replay" and (rec is None or not rec.ok or rec.trace_size is None):
                # Nothing (complete) to replay: counts as a failed replay for this run.
                res = Result("replay", None, None, False, "")
                res.error = "not run: record failed"
                res.replay_ok = False
                entry["runs"]["replay"].append(res)
                continue
            if mode in gave_up:
                continue
            res = one_run(w, mode, i, argv, ctx)
            if mode == "replay":
                judge(res, rec.rc, tmp)
                res.replay_ok = (res.ok and not res.timed_out
                                 and filecmp.cmp(res.out_path, rec.out_path, shallow=False))
            else:
                judge(res, expected_rc, tmp)
            if mode == "record":
                rec = res
            entry["runs"][mode].append(res)
            status = "%.3fs" % res.seconds if res.ok else "FAIL (%s)" % res.error
            if mode == "replay":
                status += " output %s" % ("matches" if res.replay_ok else "DIFFERS")
            log("  [%s] run %d/%d %-6s %s" % (w["name"], i, args.runs, mode, status))
            if res.timed_out:
                gave_up.add(mode)
                entry["notes"].append("%s timed out on run %d; later %s runs skipped"
                                      % (mode, i, mode))
        # Clean up this run's files (traces can be large).
        for name in os.listdir(tmp):
            if name.startswith(("out.", "trace.")):
                try:
                    os.unlink(os.path.join(tmp, name))
                except OSError:
                    pass
    return entry


# --------------------------------------------------------------------------
# Reporting

def human_size(n):
    if n is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return ("%d %s" % (n, unit)) if unit == "B" else ("%.1f %s" % (n, unit))
        n /= 1024.0


def shorten(s, n):
    return s if len(s) <= n else s[: n - 3] + "..."


def mode_stats(entry, mode):
    runs = entry["runs"][mode]
    good = [r.seconds for r in runs if r.ok]
    bad = [r for r in runs if not r.ok]
    return runs, good, bad


def cell(entry, mode, native_med, width=160):
    runs, good, bad = mode_stats(entry, mode)
    if not runs:
        return "-"
    if bad:
        first = bad[0].error
        prefix = "FAIL" if not good else "FAIL %d/%d" % (len(bad), len(runs))
        return shorten("%s (%s)" % (prefix, first), width)
    med = statistics.median(good)
    if native_med:
        return "%.3f (%.2fx)" % (med, med / native_med)
    return "%.3f" % med


def summarize(entry):
    e = {"native": None}
    _, good, _ = mode_stats(entry, "native")
    if good:
        e["native"] = statistics.median(good)
    return e


def print_report(facts, notes, entries, args, have_strace):
    print("Scribe benchmark")
    print("  CPU:     %s" % facts["cpu"])
    print("  Kernel:  %s" % facts["kernel"])
    print("  CPUs:    %s (usable: %s)" % (facts["cpus"], facts["cpus_usable"]))
    print("  Scribe:  commit %s" % facts["scribe_commit"])
    print("  Load:    %s at start, %s at end (1/5/15 min; high load = noisy timings)"
          % (facts["loadavg"], loadavg()))
    print("  Runs:    %d per mode%s; timeout %d s per command; %s"
          % (args.runs, " (--quick)" if args.quick else "", args.timeout, facts["date"]))
    for n in notes:
        print("  Note:    %s" % n)
    if not have_strace:
        print("  Note:    strace not found: strace column skipped")
    print()

    header = ["workload", "native s", "native min-max", "strace s (x)", "no-buffer record s (x)",
              "record s (x)", "replay s (x)", "trace", "replay ok"]
    rows = []
    for e in entries:
        if e["skipped"]:
            rows.append([e["name"], "SKIPPED: " + e["skipped"], "", "", "", "", "", "", ""])
            continue
        native = summarize(e)["native"]
        _, ngood, _ = mode_stats(e, "native")
        noise = "%.3f-%.3f" % (min(ngood), max(ngood)) if ngood else "-"
        sizes = [r.trace_size for r in e["runs"]["record"]
                 if r.ok and r.trace_size is not None]
        size = human_size(statistics.median(sizes)) if sizes else "-"
        reps = e["runs"]["replay"]
        rep_ok = "%d/%d" % (sum(1 for r in reps if r.replay_ok), len(reps)) if reps else "-"
        rows.append([e["name"], "%.3f" % native if native else "-", noise,
                     cell(e, "strace", native) if have_strace else "n/a",
                     cell(e, "nobuf", native), cell(e, "record", native), cell(e, "replay", native), size, rep_ok])
    widths = [max(len(str(r[c])) for r in rows + [header]) for c in range(len(header))]

    def line(r):
        return "  ".join(str(v).ljust(widths[c]) if c == 0 or not str(v)[:1].isdigit()
                         else str(v).rjust(widths[c]) for c, v in enumerate(r)).rstrip()
    print(line(header))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line(r))
    print()

    print("Workloads:")
    for e in entries:
        print("  %-8s %s" % (e["name"], e["desc"]))
    print()

    failures = []
    for e in entries:
        for mode in MODES:
            seen = set()
            for r in e["runs"][mode]:
                if r.error and r.error not in seen:
                    seen.add(r.error)
                    failures.append("  %s %s: %s" % (e["name"], mode, r.error))
        for n in e["notes"]:
            failures.append("  %s: %s" % (e["name"], n))
    if failures:
        print("Failures (full text; $TMP is the benchmark's temp dir):")
        print("\n".join(failures))
        print()

    print("Summary:")
    for e in entries:
        if e["skipped"]:
            print("  %-8s skipped (%s)" % (e["name"], e["skipped"]))
            continue
        native = summarize(e)["native"]
        parts = ["native %.3f s" % native]
        for mode in ("strace", "nobuf", "record", "replay"):
            if mode == "strace" and not have_strace:
                continue
            runs, good, bad = mode_stats(e, mode)
            if not runs:
                parts.append("%s not run" % mode)
            elif bad:
                parts.append("%s FAILED %d/%d" % (mode, len(bad), len(runs)))
            else:
                parts.append("%s %.2fx" % (mode, statistics.median(good) / native))
        reps = e["runs"]["replay"]
        if reps:
            ok = sum(1 for r in reps if r.replay_ok)
            parts.append("replay output+status match %d/%d%s"
                         % (ok, len(reps), "" if ok == len(reps) else " <-- MISMATCH/FAIL"))
        print("  %-8s %s" % (e["name"], "; ".join(parts)))


def write_json(path, facts, notes, entries, args):
    doc = {"machine": facts, "notes": notes,
           "settings": {"runs": args.runs, "quick": args.quick, "timeout": args.timeout},
           "workloads": []}
    for e in entries:
        doc["workloads"].append({
            "name": e["name"], "desc": e["desc"], "argv": e.get("argv"),
            "skipped": e["skipped"], "notes": e["notes"],
            "runs": {m: [r.to_json() for r in e["runs"][m]] for m in MODES},
        })
    with open(path, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=None,
                    help="timed runs per mode (default 5, or 3 with --quick)")
    ap.add_argument("--only", nargs="+", metavar="NAME", help="run only these workloads")
    ap.add_argument("--quick", action="store_true", help="3 runs and smaller inputs")
    ap.add_argument("--json", metavar="FILE", help="write all raw timings to FILE")
    ap.add_argument("--timeout", type=float, default=300, help="per-command timeout, s")
    ap.add_argument("--no-build", action="store_true",
                    help="do not run cargo build --release first")
    ap.add_argument("--scribe", metavar="PATH", help="scribe binary to use (implies no build)")
    ap.add_argument("--list", action="store_true", help="list workload names and exit")
    args = ap.parse_args()
    if args.runs is None:
        args.runs = 3 if args.quick else 5
    if args.runs < 1:
        ap.error("--runs must be >= 1")

    tmp = tempfile.mkdtemp(prefix="scribe-bench-")
    try:
        all_w = workloads(tmp, args.quick)
        names = [w["name"] for w in all_w]
        if args.list:
            for w in all_w:
                print("%-8s %s" % (w["name"], w["desc"]))
            return 0
        if args.only:
            unknown = [n for n in args.only if n not in names]
            if unknown:
                ap.error("unknown workload(s): %s (known: %s)"
                         % (", ".join(unknown), ", ".join(names)))
            all_w = [w for w in all_w if w["name"] in args.only]

        facts = machine_facts()
        scribe, notes = build_scribe(tmp, args)
        if scribe is None:
            log("WARNING: %s; record/replay columns skipped" % notes[-1])
        have_strace = shutil.which("strace") is not None
        work = os.path.join(tmp, "work")
        os.makedirs(work)
        ctx = {"tmp": tmp, "work": work, "scribe": scribe, "timeout": args.timeout}

        entries = []
        for w in all_w:
            log("== %s: %s" % (w["name"], w["desc"]))
            entries.append(bench_workload(w, args, ctx, have_strace))
            if entries[-1]["skipped"]:
                log("  skipped: %s" % entries[-1]["skipped"])

        print_report(facts, notes, entries, args, have_strace)
        if args.json:
            write_json(args.json, facts, notes, entries, args)
            print("\nRaw timings written to %s" % args.json)
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
