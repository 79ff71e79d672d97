"""The fast engine against cripser and GUDHI, timed side by side, as Markdown tables.

Usage::

    python benchmarks/compare.py            # a few minutes
    python benchmarks/compare.py --full     # adds 2048^2 and 128^3 (GUDHI there is slow)

What is measured (the images are those of the asv suites, :mod:`benchmarks.engines`):

1. Single images, 2-D 512^2 and 1024^2 (and 2048^2), 3-D 64^3 (and 128^3), smooth and
   membrane (and at 1024^2 the membrane map in 8-bit levels): the fast engine's whole
   answer ``fast.morse_structures(x, 0.2)``, its bare diagram
   ``fast.persistence_diagram(x)``, cripser's diagram
   ``cripser.computePH(-x, maxdim=x.ndim - 1)`` and GUDHI's
   ``gudhi.CubicalComplex(vertices=-x).persistence(homology_coeff_field=2,
   min_persistence=0)``. Each time is the median of up to ``--repeat`` calls (at least
   3, stopping once a measurement has taken ``--budget`` seconds), after one untimed
   call on the same image; the numba kernels are compiled beforehand, so JIT
   compilation is never timed. The three diagrams are also checked to be equal. Each
   shape runs in a fresh process of its own (this script with ``--rows``), all
   engines in turn: in one long process the state that the earlier sizes leave in
   the C allocator (GUDHI's allocations above all) slowed the later ones, both
   engines alike -- the 2048^2 smooth map took 0.88 s there and 0.64-0.69 s in a
   process of its own. The same process also times numpy's sort of the values and a
   textbook union-find in the filtration order (:func:`machine_references`), and the
   report gives how every time grows from one size to the next beside n log n
   (:func:`scaling_table`).
2. Batch throughput: ``fast.morse_structures_batch`` on 8 images of 512^2 with 1 and
   2 worker threads.
3. JIT compilation: in a fresh subprocess with ``NUMBA_CACHE_DIR`` pointing at an empty
   temporary folder, the first and second calls on a tiny 2-D and then 3-D image;
   then again in a second fresh subprocess on the now filled cache folder.
4. Peak memory of ``fast.morse_structures(x, 0.2)``: the maximum resident set size
   (``resource.getrusage``) of a fresh subprocess that imports, compiles (from the
   on-disk cache), loads the image and runs, minus that of a baseline subprocess that
   does the same but for the run, per pixel. tracemalloc cannot be used: it does not
   see the arrays numba allocates. The input image (8 bytes per pixel) is in both.
   The subprocesses are started through ``sh``, which forks them: a process that
   Python starts directly (vfork + exec) inherits this script's own peak as the
   starting value of its ``ru_maxrss``, which would hide everything below it.

All timings are wall-clock, with the garbage collector off during a call, on whatever
else the machine is doing: run it on a quiet machine (the report prints the load
average at its start and end, and a warning if the fast engine's sources changed
while it ran).
"""

import argparse
import collections
import functools
import gc
import hashlib
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(ROOT))

import numba  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks.engines import KINDS, diagram_function, make_batch, make_image, parse_shape, warm_up  # noqa: E402
from dmtloss import fast  # noqa: E402

EPSILON = 0.2
#: An 8-bit image (thousands of pixels per value), compared at this shape only.
TIES, TIES_SHAPE = "membrane-8bit", (1024, 1024)
SHAPES = [(512, 512), (1024, 1024), (64, 64, 64)]
FULL_SHAPES = [(512, 512), (1024, 1024), (2048, 2048), (64, 64, 64), (128, 128, 128)]
BATCH = (8, (512, 512))
WORKERS = (1, 2)

# Diagrams are compared as rows (dim, birth, death) of the superlevel filtration.
_CRIPSER_INFINITY = np.finfo(np.float64).max


# -- measuring ---------------------------------------------------------------------------

Measurement = collections.namedtuple("Measurement", "seconds calls result")


def median_time(function, *args, repeat=5, budget=10.0, min_repeat=3):
    """Median wall-clock seconds of ``function(*args)`` after one untimed call.

    Runs at most `repeat` timed calls, and stops early (after at least `min_repeat`) once
    the timed calls have taken `budget` seconds. The garbage collector is off during
    each call, as in :mod:`timeit`.

    Returns
    -------
    Measurement
        ``seconds`` (the median), ``calls`` (the number of timed calls) and ``result``
        (what the untimed call returned).
    """
    result = function(*args)
    samples = []
    while len(samples) < max(repeat, 1):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            function(*args)
            samples.append(time.perf_counter() - start)
        finally:
            gc.enable()
        if len(samples) >= min(min_repeat, repeat) and sum(samples) >= budget:
            break
    return Measurement(statistics.median(samples), len(samples), result)


def _canonical(rows):
    rows = np.asarray(rows, dtype=np.float64).reshape(-1, 3)
    rows = rows[rows[:, 1] != rows[:, 2]]
    return rows[np.lexsort((rows[:, 2], rows[:, 1], rows[:, 0]))]


def _superlevel(engine, raw):
    """A peer's raw answer on ``-x`` as canonical superlevel rows (dim, birth, death)."""
    if engine == "fast":
        return _canonical(raw)
    if engine == "cripser":
        death = np.where(raw[:, 2] == _CRIPSER_INFINITY, np.inf, raw[:, 2])
        return _canonical(np.column_stack((raw[:, 0], -raw[:, 1], -death)))
    return _canonical([(dim, -birth, -death) for dim, (birth, death) in raw])


def _label(shape):
    return "x".join(map(str, shape)) if len(set(shape)) > 1 else f"{shape[0]}^{len(shape)}"


# -- 1. single images ----------------------------------------------------------------------

def single_image_rows(shapes, repeat, budget, log):
    """Time the fast engine and the peers on each (shape, kind); one dict per row."""
    diagrams = {engine: diagram_function(engine) for engine in ("fast", "cripser", "gudhi")}
    rows = []
    for shape in shapes:
        warm_up(len(shape))
        for kind in KINDS + ((TIES,) if shape == TIES_SHAPE else ()):
            x = make_image(kind, shape)
            row = {"image": _label(shape), "kind": kind, "ndim": len(shape), "pixels": int(np.prod(shape))}
            row["structures"] = median_time(fast.morse_structures, x, EPSILON,
                                            repeat=repeat, budget=budget).seconds
            answers = {}
            for engine, function in diagrams.items():
                measured = median_time(function, x, repeat=repeat, budget=budget)
                row[engine] = measured.seconds
                answers[engine] = _superlevel(engine, measured.result)
            row["same"] = all(np.array_equal(answers["fast"], answers[e]) for e in ("cripser", "gudhi"))
            row.update(machine_references(x, repeat, budget))
            row["pairs"] = len(answers["fast"])
            log(f"{row['image']} {kind}: structures {row['structures']:.3f} s, "
                f"cripser {row['cripser']:.3f} s, GUDHI {row['gudhi']:.3f} s")
            rows.append(row)
    return rows


@numba.njit(cache=True)
def _plain_union_find(order, rank, shape3, parent):
    """0-dimensional persistence in its plainest form; returns the number of merges.

    The pixels in filtration order, each joined to its processed neighbours (6 in
    3-D, 4 in 2-D): path halving, the older root stays. No pairs are recorded and
    nothing is prefetched: the least any union-find engine does, with the cache
    misses of the textbook loop.
    """
    n0, n1, n2 = shape3
    parent[:] = -1
    merges = 0
    for r in range(order.size):
        v = order[r]
        parent[v] = v
        i, rest = v // (n1 * n2), v % (n1 * n2)
        j, k = rest // n2, rest % n2
        for d in range(6):
            if d == 0:
                u = v - n1 * n2 if i > 0 else -1
            elif d == 1:
                u = v + n1 * n2 if i < n0 - 1 else -1
            elif d == 2:
                u = v - n2 if j > 0 else -1
            elif d == 3:
                u = v + n2 if j < n1 - 1 else -1
            elif d == 4:
                u = v - 1 if k > 0 else -1
            else:
                u = v + 1 if k < n2 - 1 else -1
            if u < 0 or parent[u] < 0:
                continue
            a, b = u, v
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            while parent[b] != b:
                parent[b] = parent[parent[b]]
                b = parent[b]
            if a != b:
                if rank[a] < rank[b]:
                    parent[b] = a
                else:
                    parent[a] = b
                merges += 1
    return merges


def machine_references(x, repeat, budget):
    """Two plain passes over `x`, timed as the engines are, to tell the machine from the code.

    ``sort``: numpy's sort of the values, the n log n step every engine starts with.
    ``union_find``: :func:`_plain_union_find` in the image's filtration order, the
    textbook loop the engines refine. How these grow with the image size shows what
    the memory hierarchy adds to n log n on this machine (see :func:`scaling_table`).
    """
    flat = np.ascontiguousarray(x).ravel()
    order = np.argsort(-flat, kind="stable")  # the superlevel filtration order of the pixels
    rank = np.empty(flat.size, dtype=np.int64)
    rank[order] = np.arange(flat.size)
    shape3 = (1,) * (3 - x.ndim) + x.shape
    parent = np.empty(flat.size, dtype=np.int64)
    return {"sort": median_time(np.sort, flat, repeat=repeat, budget=budget).seconds,
            "union_find": median_time(_plain_union_find, order, rank, shape3, parent,
                                      repeat=repeat, budget=budget).seconds}


def isolated_rows(shapes, repeat, budget):
    """:func:`single_image_rows`, each shape in a fresh process (its log goes to stderr)."""
    rows = []
    for shape in shapes:
        command = [sys.executable, str(Path(__file__).resolve()), "--rows", "x".join(map(str, shape)),
                   "--repeat", str(repeat), "--budget", str(budget)]
        completed = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False)
        if completed.returncode != 0:
            raise RuntimeError(f"the child process for {_label(shape)} failed ({completed.returncode})")
        rows.extend(json.loads(completed.stdout.strip().splitlines()[-1]))
    return rows


def single_image_table(rows):
    header = ["image", "kind", "pairs", "fast structures (s)", "fast diagram (s)", "cripser (s)",
              "GUDHI (s)", "structures / cripser", "diagram / cripser", "structures / GUDHI",
              "diagrams equal"]
    body = [[r["image"], r["kind"], f"{r['pairs']:,}", f"{r['structures']:.3f}", f"{r['fast']:.3f}",
             f"{r['cripser']:.3f}", f"{r['gudhi']:.3f}", f"{r['structures'] / r['cripser']:.2f}",
             f"{r['fast'] / r['cripser']:.2f}", f"{r['structures'] / r['gudhi']:.3f}",
             "yes" if r["same"] else "**NO**"] for r in rows]
    return markdown_table(header, body)


def n_log_n(pixels):
    return pixels * np.log2(pixels)


def scaling_table(rows):
    """How each time grows from one size to the next of the same dimension and kind.

    The growth of ``n log n`` is the algorithmic bound; numpy's sort and the plain
    union-find (:func:`machine_references`), measured in the same processes, show what
    the memory hierarchy adds to it: once the working set leaves the cache, every
    random access costs more, whatever the algorithm. The last column is the fast
    engine's whole answer in units of the plain union-find's time, at both sizes.
    """
    body = []
    by_kind = collections.defaultdict(list)
    for row in rows:
        by_kind[row["ndim"], row["kind"]].append(row)
    for (_, kind), group in by_kind.items():
        group.sort(key=lambda r: r["pixels"])
        for small, large in itertools.pairwise(group):
            growth = [f"{large[key] / small[key]:.2f}"
                      for key in ("structures", "fast", "cripser", "gudhi", "sort", "union_find")]
            passes = (f"{small['structures'] / small['union_find']:.2f} -> "
                      f"{large['structures'] / large['union_find']:.2f}")
            body.append([f"{small['image']} -> {large['image']}", kind,
                         f"{n_log_n(large['pixels']) / n_log_n(small['pixels']):.2f}", *growth, passes])
    header = ["sizes", "kind", "n log n", "fast structures", "fast diagram", "cripser", "GUDHI",
              "numpy sort", "plain union-find", "fast structures / plain union-find"]
    return markdown_table(header, body)


# -- 2. batch ------------------------------------------------------------------------------

def batch_rows(repeat, budget, log):
    count, shape = BATCH
    warm_up(len(shape))
    rows = []
    for kind in KINDS:
        batch = make_batch(kind, count, shape)
        seconds = {}
        for workers in WORKERS:
            seconds[workers] = median_time(lambda: fast.morse_structures_batch(batch, EPSILON, workers=workers),
                                           repeat=repeat, budget=budget).seconds
            log(f"batch {count} x {_label(shape)} {kind}, {workers} worker(s): {seconds[workers]:.3f} s")
        for workers in WORKERS:
            rows.append([f"{count} x {_label(shape)}", kind, str(workers), f"{seconds[workers]:.3f}",
                         f"{count / seconds[workers]:.2f}", f"{seconds[WORKERS[0]] / seconds[workers]:.2f}"])
    header = ["batch", "kind", "workers", "seconds", "images / s", "speed-up"]
    return markdown_table(header, rows)


# -- subprocesses ----------------------------------------------------------------------------

def _run_child(code, env=None, fork=False):
    """Run ``python -c code`` in the repository root; return its last stdout line as JSON.

    With `fork`, the child is started by ``sh`` (which must fork, as a command follows)
    so that its ``ru_maxrss`` starts from sh's few MiB rather than from this process's
    peak, which ``exec`` carries over.
    """
    command = [sys.executable, "-c", textwrap.dedent(code)]
    if fork:
        command = ["sh", "-c", '"$@"; exit $?', "sh"] + command
    completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"child process failed ({completed.returncode}):\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


# -- 3. JIT compilation ------------------------------------------------------------------------

_JIT_CHILD = """
    import json, time
    import numpy as np
    start = time.perf_counter()
    from dmtloss import fast
    out = {"import": time.perf_counter() - start}
    rng = np.random.default_rng(0)
    for label, shape in (("2-D", (9, 11)), ("3-D", (5, 6, 7))):
        x = rng.random(shape)
        for call in ("first", "second"):
            start = time.perf_counter()
            fast.morse_structures(x, 0.2)
            out[f"{label} {call}"] = time.perf_counter() - start
    print(json.dumps(out))
"""


def jit_table(log):
    """First vs second calls in fresh processes: empty numba cache, then filled cache."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="dmtloss-numba-") as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for state in ("empty cache", "filled cache"):
            out = _run_child(_JIT_CHILD, env)
            log(f"JIT, {state}: " + ", ".join(f"{k} {v:.3f} s" for k, v in out.items()))
            rows.append([state, f"{out['import']:.3f}"]
                        + [f"{out[f'{d} {c}']:.3f}" for d in ("2-D", "3-D") for c in ("first", "second")])
    header = ["fresh process, numba cache", "import (s)", "2-D first call (s)", "2-D second call (s)",
              "3-D first call (s)", "3-D second call (s)"]
    return markdown_table(header, rows)


# -- 4. peak memory --------------------------------------------------------------------------

_MEMORY_CHILD = """
    import json, resource, sys
    import numpy as np
    sys.path.insert(0, {root!r})
    from benchmarks.engines import warm_up
    from dmtloss import fast
    x = np.load({path!r})
    warm_up(x.ndim)
    if {run!r}:
        fast.morse_structures(x, {epsilon!r})
    print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * {unit}))
"""


def memory_table(shapes, log):
    """Peak RSS of one fast.morse_structures call, per pixel, above a baseline process."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="dmtloss-memory-") as folder:
        for shape in shapes:
            warm_up(len(shape))  # fills the on-disk numba cache the children load
            for kind in KINDS:
                path = os.path.join(folder, "image.npy")
                np.save(path, make_image(kind, shape))
                code = functools.partial(_MEMORY_CHILD.format, root=str(ROOT), path=path, epsilon=EPSILON,
                                         unit=1 if sys.platform == "darwin" else 1024)  # bytes or KiB
                peak = {run: _run_child(code(run=run), fork=True) for run in (False, True)}
                pixels = int(np.prod(shape))
                extra = peak[True] - peak[False]
                log(f"memory {_label(shape)} {kind}: baseline {peak[False] / 2**20:.0f} MiB, "
                    f"run {peak[True] / 2**20:.0f} MiB")
                rows.append([_label(shape), kind, f"{peak[False] / 2**20:.0f}", f"{peak[True] / 2**20:.0f}",
                             f"{extra / 2**20:.0f}", f"{extra / pixels:.0f}"])
    header = ["image", "kind", "baseline max RSS (MiB)", "with the call (MiB)", "difference (MiB)",
              "bytes / pixel"]
    return markdown_table(header, rows)


# -- report ----------------------------------------------------------------------------------

def markdown_table(header, rows):
    """A GitHub-flavoured Markdown table; numeric columns right-aligned."""
    def numeric(text):
        return text.replace(",", "").replace(".", "", 1).removeprefix("-").isdigit()

    align = ["---:" if rows and all(numeric(r[i]) for r in rows) else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def engine_fingerprint():
    """A short hash of the fast engine's source files, to tell versions apart."""
    folder = Path(sys.modules[fast.morse_structures.__module__].__file__).parent
    digest = hashlib.sha1()
    for path in sorted(folder.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:10]


def environment():
    """One line naming the machine, the versions and the commit that were measured."""
    import cripser
    import gudhi
    import numba

    try:
        commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT,
                                capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    engine_file = Path(sys.modules[fast.morse_structures.__module__].__file__)
    return (f"dmtloss {commit} (engine {engine_file}, sources {engine_fingerprint()}), "
            f"Python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}, "
            f"cripser {getattr(cripser, '__version__', '?')}, gudhi {gudhi.__version__}, "
            f"{platform.machine()} with {os.cpu_count()} CPUs")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="add 2048^2 and 128^3 (slow)")
    parser.add_argument("--repeat", type=int, default=5, help="timed calls per measurement (default 5)")
    parser.add_argument("--budget", type=float, default=10.0,
                        help="stop a measurement after this many seconds, past 3 calls (default 10)")
    parser.add_argument("--rows", metavar="SHAPE", help=argparse.SUPPRESS)  # one shape, as JSON: the child
    args = parser.parse_args(argv)

    def log(message):
        print(message, file=sys.stderr, flush=True)

    if args.rows:
        print(json.dumps(single_image_rows([parse_shape(args.rows)], args.repeat, args.budget, log)))
        return

    shapes = FULL_SHAPES if args.full else SHAPES
    start, fingerprint, load_start = time.perf_counter(), engine_fingerprint(), os.getloadavg()[0]
    log("compiling the fast engine (not timed) ...")
    warm_up(2)
    warm_up(3)
    rows = isolated_rows(shapes, args.repeat, args.budget)
    sections = [
        ("Single images: median seconds, epsilon 0.2 for the structures", single_image_table(rows)),
        ("Scaling: growth of each time from one size to the next", scaling_table(rows)),
        ("Batch throughput: morse_structures_batch, epsilon 0.2", batch_rows(args.repeat, args.budget, log)),
        ("JIT compilation (fresh processes, NUMBA_CACHE_DIR in an empty temporary folder)", jit_table(log)),
        ("Peak memory of fast.morse_structures (fresh processes, max RSS)", memory_table(shapes, log)),
    ]
    load_end = os.getloadavg()[0]
    print(f"{environment()}; median of up to {args.repeat} calls; {time.perf_counter() - start:.0f} s "
          f"in all; load average {load_start:.2f} at the start, {load_end:.2f} at the end.\n")
    if engine_fingerprint() != fingerprint:
        print(f"**Warning**: the fast engine's sources changed during this run (they were "
              f"{fingerprint}): subprocesses may have measured another version.\n")
    for title, table in sections:
        print(f"### {title}\n\n{table}\n")


if __name__ == "__main__":
    main()
