#!/usr/bin/env bash
# Soak test: records and replays multi-threaded and multi-process workloads
# in a loop for MINUTES (default 30) and counts the replays that diverged
# (different stdout or exit status, or a replay error). Every recording has
# bookmarks every 20 ms; one of them, chosen at random among those placed
# with state digests, is replayed with --stop-at, which checks the memory
# and registers of every process there: a failure counts as a divergence
# too. Failing traces are kept in the printed directory. Not part of the
# default test run.
#
#   bench/soak.sh [MINUTES]
set -u
minutes=${1:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$root/Cargo.toml" || exit 1
work=$(mktemp -d /tmp/scribe-soak.XXXXXX)
# A copy, so rebuilding during the soak does not change the binary under test.
cp "$root/target/release/scribe" "$work/scribe"
# The recorder preloads its syscall buffer library from next to its binary.
cp "$root/target/release/libscribe_preload.so" "$work/" || exit 1
scribe=$work/scribe
keep=$work/failed
mkdir -p "$keep"
for p in thread_pool mutex_counter fork_wait pipeline condvar shared_anon shared_file exit_blocked exit_from_thread kill_children rotated_loop park_order syscallbuf racy_counter spin_flag setitimer signal_frame robust_mutex shm_join; do
  gcc -O1 -pthread -o "$work/$p" "$root/tests/programs/$p.c" || exit 1
done
g++ -O1 -pthread -o "$work/random_device" "$root/tests/programs/random_device.cpp" || exit 1
mkdir -p "$work/proj"
for i in 1 2 3 4; do echo "int f$i(int x){return x*$i;}" > "$work/proj/f$i.c"; done
printf 'all: f1.o f2.o f3.o f4.o\n%%.o: %%.c\n\tgcc -c -o $@ $<\n' > "$work/proj/Makefile"

cat > "$work/threads.py" <<'PY'
import threading
total = 0
lock = threading.Lock()
def work(n):
    global total
    s = sum(i * i % 7 for i in range(n))
    with lock:
        total += s
ts = [threading.Thread(target=work, args=(100000,)) for _ in range(4)]
for t in ts: t.start()
for t in ts: t.join()
print("total", total)
PY

cat > "$work/pool.py" <<'PY'
import multiprocessing as mp, sys
def square(x):
    return x * x
if __name__ == "__main__":
    mp.set_start_method(sys.argv[1] if len(sys.argv) > 1 else "forkserver")
    with mp.Pool(2) as pool:
        print("sum", sum(pool.map(square, range(200))))
PY

# Each entry: record options, then -- and the command.
workloads=(
  "-- $work/thread_pool"
  "-- $work/mutex_counter 4"
  "-- $work/fork_wait"
  "-- $work/pipeline"
  "-- $work/condvar"
  "-- $work/shared_anon"
  "-- $work/shared_file $work/shared.bin late"
  "-- $work/exit_blocked"
  "-- $work/exit_from_thread"
  "-- $work/kill_children 3"
  "--chaos -- $work/rotated_loop 50"
  "-- sh -c 'seq 1 12 | xargs -P2 -I{} timeout 0.05 sleep 1; echo done'"
  "--no-syscall-buffer -- $work/park_order"
  "-- $work/syscallbuf $work"
  "-- sh -c 'seq 20000 | sort -r | head -3'"
  "-- sh -c 'tar cf - /usr/include 2>/dev/null | zstd -q -T2 -3 | zstd -dq | sha256sum'"
  "-- make -B -s -j2 -C $work/proj"
  "--chaos -- $work/racy_counter 4 2000000"
  "--chaos -- $work/spin_flag"
  "-- $work/setitimer"
  "--chaos -- $work/signal_frame"
  "--chaos -- python3 $work/threads.py"
  "-- python3 $work/pool.py"
  "-- python3 $work/pool.py spawn"
  "-- $work/shm_join 3000"
  "-- $work/robust_mutex"
  "-- $work/random_device 8 0"
)

# Runtimes with JITs and many threads, where installed: a Java thread pool
# and node's worker threads, with chaos.
if command -v java >/dev/null; then
  cat > "$work/Pool.java" <<'JAVA'
import java.util.concurrent.*;
import java.util.concurrent.atomic.*;
public class Pool {
  public static void main(String[] a) throws Exception {
    ExecutorService ex = Executors.newFixedThreadPool(4);
    AtomicLong sum = new AtomicLong();
    for (int t = 0; t < 8; t++) ex.submit(() -> { long s = 0; for (int i = 0; i < 2000000; i++) s += i % 7; sum.addAndGet(s); });
    ex.shutdown(); ex.awaitTermination(1, TimeUnit.MINUTES);
    System.out.println("sum " + sum.get());
  }
}
JAVA
  workloads+=("--chaos -- java $work/Pool.java")
fi
if command -v node >/dev/null; then
  cat > "$work/workers.js" <<'JS'
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');
if (isMainThread) {
  let done = 0, total = 0;
  for (let i = 0; i < 4; i++) {
    const w = new Worker(__filename, { workerData: i });
    w.on('message', (m) => { total += m; if (++done === 4) console.log('total', total); });
  }
} else {
  let s = 0; for (let i = 0; i < 3e6; i++) s += (i * workerData) % 11;
  parentPort.postMessage(s);
}
JS
  workloads+=("--chaos -- node $work/workers.js")
fi

end=$(( $(date +%s) + minutes * 60 ))
runs=0; diverged=0; round=0
while [ "$(date +%s)" -lt "$end" ]; do
  round=$((round + 1))
  for w in "${workloads[@]}"; do
    runs=$((runs + 1))
    trace=$work/t.log
    eval "timeout 120 $scribe record -a 0.02 -o $trace $w" >"$work/rec.out" 2>"$work/rec.err" </dev/null
    rs=$?
    timeout 120 "$scribe" replay "$trace" >"$work/rep.out" 2>"$work/rep.err" </dev/null
    ps=$?
    # 125 is scribe's own failure: a recording that failed is a failure
    # too, even if its replay fails the same way.
    if [ "$rs" = 125 ] || [ "$rs" != "$ps" ] || ! cmp -s "$work/rec.out" "$work/rep.out"; then
      diverged=$((diverged + 1))
      cp "$trace" "$keep/run$runs.log"
      echo "DIVERGED (run $runs, round $round): $w (record $rs, replay $ps): $(head -c 300 "$work/rep.err" | head -1)"
      continue
    fi
    # The bookmarks placed with a digest: a "bookmark N" line followed by a
    # "state:" line in the profiler's listing.
    marks=$("$scribe" profiler --kind bookmark "$trace" 2>/dev/null |
      awk '/\] bookmark [0-9]+$/ { id = $NF } /^ +state: / && id != "" { print id; id = "" }')
    if [ -n "$marks" ]; then
      mark=$(printf '%s\n' $marks | shuf -n 1)
      if ! timeout 120 "$scribe" replay --stop-at "$mark" "$trace" >/dev/null 2>"$work/stop.err" </dev/null; then
        diverged=$((diverged + 1))
        cp "$trace" "$keep/run$runs.log"
        echo "BOOKMARK $mark FAILED (run $runs, round $round): $w: $(head -c 300 "$work/stop.err" | head -1)"
      fi
    fi
  done
  echo "round $round: $runs runs, $diverged diverged"
done
echo "soak: $minutes min, $runs record+replay runs, $diverged diverged (failing traces in $keep)"
[ "$diverged" -eq 0 ]
