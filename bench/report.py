#!/usr/bin/env python3
"""Results writer for `make bench`: DIR (raw fio JSON from the VM matrix in
DIR/raw/<backend>/<device>.<engine>.<workload>.r<rep>.json with its CPU
sample .cpu, native runs in DIR/native/results.jsonl) -> DIR.md with the
tables and DIR.png (gnuplot, bench/chart.gp).

Medians over the repetitions, with min and max. Nothing here judges a
number; the targets table only compares what was measured."""
import json
import os
import re
import statistics
import subprocess
import sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
DEVICES = ["local", "nbd", "nvme", "qbd", "nvme-rdma", "qbd-rdma", "qbd-rdma-poll", "qbd-rdma-percpu"]
CHART_TITLES = {"local": "brd (local, ceiling)", "nbd": "NBD", "nvme": "NVMe/TCP",
                "qbd": "qbd/TCP", "nvme-rdma": "NVMe/RDMA (rxe)", "qbd-rdma": "qbd/RDMA (rxe)",
                "qbd-rdma-poll": "qbd/RDMA (rxe), server polling",
                "qbd-rdma-percpu": "qbd/RDMA (rxe), server worker per CPU"}
DEV_NAMES = {"local": "local (ceiling)", "nbd": "NBD", "nvme": "NVMe/TCP", "qbd": "qbd/TCP",
             "nvme-rdma": "NVMe/RDMA (rxe)", "qbd-rdma": "qbd/RDMA (rxe)",
             "qbd-rdma-poll": "qbd/RDMA (rxe), server polling",
             "qbd-rdma-percpu": "qbd/RDMA (rxe), worker per CPU"}
# The qbd/RDMA devices compared with NVMe/RDMA, and their ratio columns.
RDMA_RATIOS = [("qbd-rdma", "qbd/RDMA ÷ NVMe/RDMA"), ("qbd-rdma-poll", "qbd/RDMA polling ÷ NVMe/RDMA"),
               ("qbd-rdma-percpu", "qbd/RDMA per CPU ÷ NVMe/RDMA")]
# bench_events (bench/vm/bench-lib.sh) -> the per-IO columns: (title, events summed).
EVENTS = [("context switches", ["sched:sched_switch"]),
          ("wakeups", ["sched:sched_wakeup"]),
          ("IPIs", ["irq_vectors:reschedule_entry", "irq_vectors:call_function_single_entry",
                    "irq_vectors:call_function_entry"]),
          ("syscalls", ["raw_syscalls:sys_enter"])]
WORKLOADS = ["rr4k_qd1", "rw4k_qd1", "rr4k_qd32", "rw4k_qd32", "sr128k_qd16", "sw128k_qd16"]
WL_NAMES = {
    "rr4k_qd1": "4k randread QD1",
    "rw4k_qd1": "4k randwrite QD1",
    "rr4k_qd32": "4k randread QD32 x2 jobs",
    "rw4k_qd32": "4k randwrite QD32 x2 jobs",
    "sr128k_qd16": "128k read QD16",
    "sw128k_qd16": "128k write QD16",
}
BACKEND_NAMES = {"brd": "brd ramdisk (raw)", "file": "file on ext4 on brd (O_DIRECT where the server does it)"}
USER_HZ = os.sysconf("SC_CLK_TCK")
RAW_RE = re.compile(r"^([\w-]+)\.(\w+)\.(\w+)\.r(\d+)\.json$")


def is_bw(wl):
    return wl.startswith("s")


def load_run(path):
    """One fio JSON -> dict of the numbers we report, or None."""
    try:
        with open(path) as f:
            text = f.read()
        # fio may print notes before the JSON object.
        data = json.loads(text[text.index("{"):])
    except (OSError, ValueError) as e:
        print(f"report: {path}: unreadable fio JSON ({e})", file=sys.stderr)
        return None
    job = data["jobs"][0]
    if job.get("error", 0):
        return None
    ios = 0
    bw = 0.0
    iops = 0.0
    pct = {}
    for d in ("read", "write"):
        s = job[d]
        ios += s["total_ios"]
        iops += s["iops"]
        bw += s["bw_bytes"] / 2**20
        # Total latency (submission to completion, fio --lat_percentiles):
        # clat alone flatters devices that finish much of an IO inside the
        # submitting syscall (NVMe/TCP sends from queue_rq).
        lat = "lat_ns" if "percentile" in s.get("lat_ns", {}) else "clat_ns"
        if s["total_ios"] and "percentile" in s.get(lat, {}):
            p = s[lat]["percentile"]
            pct = {k: p.get(v, 0) / 1000.0 for k, v in
                   (("p50", "50.000000"), ("p99", "99.000000"), ("p999", "99.900000"))}
    r = {"iops": iops, "mibs": bw, "ios": ios, **pct}
    r.update(load_events(path[:-5] + ".events", iops))
    cpu = path[:-5] + ".cpu"
    try:
        with open(cpu) as f:
            v = [int(x) for x in f.read().split()]
        if len(v) == 4 and ios:
            r["cpu_us_per_io"] = (v[2] - v[0]) * 1e6 / USER_HZ / ios
    except (OSError, ValueError):
        pass
    return r


def load_events(path, iops):
    """perf stat CSV + "seconds N" (bench_events) -> {"ev:TITLE": count per IO}."""
    counts = {}
    secs = None
    try:
        with open(path) as f:
            for line in f:
                p = line.strip().split(",")
                if line.startswith("seconds "):
                    secs = float(line.split()[1])
                elif len(p) > 2 and p[0].isdigit():
                    counts[p[2]] = int(p[0])
    except (OSError, ValueError):
        return {}
    if not secs or not iops:
        return {}
    ios = iops * secs
    return {"ev:" + title: sum(counts[e] for e in evs) / ios
            for title, evs in EVENTS if all(e in counts for e in evs)}


def collect(raw):
    """{(backend, engine, wl, dev): [run, ...]}"""
    groups = defaultdict(list)
    if not os.path.isdir(raw):
        return groups
    for backend in sorted(os.listdir(raw)):
        for name in sorted(os.listdir(os.path.join(raw, backend))):
            m = RAW_RE.match(name)
            if not m:
                continue
            dev, engine, wl, _ = m.groups()
            r = load_run(os.path.join(raw, backend, name))
            if r:
                groups[(backend, engine, wl, dev)].append(r)
    return groups


def stat(runs, key):
    v = [r[key] for r in runs if key in r]
    if not v:
        return None
    return statistics.median(v), min(v), max(v)


def fmt_num(x):
    if x >= 10000:
        return f"{x / 1000:.0f}k"
    if x >= 1000:
        return f"{x / 1000:.1f}k"
    if x >= 100:
        return f"{x:.0f}"
    return f"{x:.1f}"


def fmt_stat(s):
    if s is None:
        return "–"
    med, lo, hi = s
    return f"{fmt_num(med)} ({fmt_num(lo)}–{fmt_num(hi)})"


def ratio(a, b):
    if a is None or b is None or b[0] == 0:
        return None
    return a[0] / b[0]


def fmt_ratio(x):
    return "–" if x is None else f"{x:.2f}×"


def vm_tables(groups, out, chart_rows):
    combos = sorted({(b, e) for (b, e, _, _) in groups}, key=lambda k: (k[0] != "brd", k[0], k[1] != "io_uring", k[1]))
    for backend, engine in combos:
        devs = [d for d in DEVICES if any((backend, engine, w, d) in groups for w in WORKLOADS)]
        reps = max(len(groups[k]) for k in groups if k[0] == backend and k[1] == engine)
        out.append(f"\n### Backend: {BACKEND_NAMES.get(backend, backend)}, fio ioengine={engine}\n")
        out.append(f"Median of {reps} repetition(s) (min–max). IOPS for 4k, MiB/s for 128k.\n")
        rcols = [(d, t) for d, t in RDMA_RATIOS if d in devs] if "nvme-rdma" in devs else []
        head = "| workload | " + " | ".join(DEV_NAMES[d] for d in devs) + " | qbd ÷ NVMe/TCP | qbd ÷ NBD |"
        head += "".join(f" {t} |" for _, t in rcols)
        out.append(head)
        out.append("|" + "---|" * (len(devs) + 3 + len(rcols)))
        for wl in WORKLOADS:
            key = "mibs" if is_bw(wl) else "iops"
            cells = {d: stat(groups.get((backend, engine, wl, d), []), key) for d in devs}
            if all(c is None for c in cells.values()):
                continue
            unit = " MiB/s" if is_bw(wl) else " IOPS"
            out.append(f"| {WL_NAMES[wl]}{unit} | " + " | ".join(fmt_stat(cells[d]) for d in devs) +
                       f" | {fmt_ratio(ratio(cells.get('qbd'), cells.get('nvme')))}"
                       f" | {fmt_ratio(ratio(cells.get('qbd'), cells.get('nbd')))} |" +
                       "".join(f" {fmt_ratio(ratio(cells.get(d), cells.get('nvme-rdma')))} |" for d, _ in rcols))
            if backend == "brd" and engine == combos[0][1]:
                chart_rows.append((wl, [cells.get(d) for d in DEVICES]))
        out.append("\nLatency at QD1 (fio `lat`: submission to completion), µs, median over repetitions "
                   "of each run's percentile:\n")
        out.append("| workload | device | p50 | p99 | p99.9 |")
        out.append("|---|---|---|---|---|")
        for wl in ("rr4k_qd1", "rw4k_qd1"):
            for d in devs:
                runs = groups.get((backend, engine, wl, d), [])
                if not runs:
                    continue
                p = [stat(runs, k) for k in ("p50", "p99", "p999")]
                out.append(f"| {WL_NAMES[wl]} | {DEV_NAMES[d]} | " +
                           " | ".join("–" if s is None else f"{s[0]:.0f}" for s in p) + " |")
        out.append("\nGuest CPU time (all CPUs: fio, block layer, network, servers) per IO, µs (median):\n")
        out.append("| workload | " + " | ".join(DEV_NAMES[d] for d in devs) + " |")
        out.append("|" + "---|" * (len(devs) + 1))
        for wl in WORKLOADS:
            cells = [stat(groups.get((backend, engine, wl, d), []), "cpu_us_per_io") for d in devs]
            if all(c is None for c in cells):
                continue
            out.append(f"| {WL_NAMES[wl]} | " + " | ".join("–" if c is None else f"{c[0]:.0f}" for c in cells) + " |")
        event_table(groups, backend, engine, devs, out)
    return combos


def event_table(groups, backend, engine, devs, out):
    """Per-IO event counts (EVENTS=1), when the runs have them."""
    titles = [t for t, _ in EVENTS]
    if not any("ev:" + titles[0] in r for d in devs for w in WORKLOADS
               for r in groups.get((backend, engine, w, d), [])):
        return
    out.append("\nEvents per IO on all guest CPUs (perf stat over the run; median over repetitions): "
               + ", ".join(titles) + ":\n")
    out.append("| workload | device | " + " | ".join(titles) + " |")
    out.append("|---|---|" + "---|" * len(titles))
    for wl in WORKLOADS:
        for d in devs:
            runs = groups.get((backend, engine, wl, d), [])
            cells = [stat(runs, "ev:" + t) for t in titles]
            if all(c is None for c in cells):
                continue
            out.append(f"| {WL_NAMES[wl]} | {DEV_NAMES[d]} | " +
                       " | ".join("–" if c is None else f"{c[0]:.2f}" for c in cells) + " |")


def targets(groups, combos, out):
    if not combos:
        return
    backend, engine = combos[0]
    g = lambda wl, d, k: stat(groups.get((backend, engine, wl, d), []), k)
    rows = []
    for wl in ("rr4k_qd32", "rw4k_qd32"):
        rows.append((f"{WL_NAMES[wl]}: qbd ≥ 1.0× NVMe/TCP", ratio(g(wl, "qbd", "iops"), g(wl, "nvme", "iops")), 1.0, True))
        rows.append((f"{WL_NAMES[wl]}: qbd ≥ 2.5× NBD", ratio(g(wl, "qbd", "iops"), g(wl, "nbd", "iops")), 2.5, True))
    for wl in ("rr4k_qd1", "rw4k_qd1"):
        rows.append((f"{WL_NAMES[wl]} p50: qbd ≤ 1.1× NVMe/TCP", ratio(g(wl, "qbd", "p50"), g(wl, "nvme", "p50")), 1.1, False))
    for wl in ("sr128k_qd16", "sw128k_qd16"):
        rows.append((f"{WL_NAMES[wl]}: qbd ≥ 1.0× NVMe/TCP", ratio(g(wl, "qbd", "mibs"), g(wl, "nvme", "mibs")), 1.0, True))
    out.append(f"\n### Targets (issue 5), {BACKEND_NAMES.get(backend, backend)}, {engine}\n")
    out.append("| target | measured | |")
    out.append("|---|---|---|")
    for name, r, lim, ge in rows:
        if r is None:
            verdict = "not measured"
        else:
            verdict = "met" if (r >= lim if ge else r <= lim) else "**not met**"
        out.append(f"| {name} | {fmt_ratio(r)} | {verdict} |")


def native_tables(path, out):
    rows = []
    try:
        with open(path) as f:
            rows = [json.loads(line) for line in f if line.strip()]
    except OSError:
        return
    if not rows:
        return
    out.append("\n## The server alone, natively (no VM)\n")
    out.append("Client and server on this host over loopback, same backend file on tmpfs "
               "(qbd-server falls back to buffered IO there, as nbd-server always does). "
               "qbd-server is driven by `qbd-loadgen` (bench/loadgen/), nbd-server by fio's "
               "`nbd` engine with the same connections, queue depth, pattern and block size. "
               "Server CPU is utime+stime of the server process and its reaped children "
               "(/proc/PID/stat) over the run; RSS is the peak of the server and its children "
               "sampled every 0.2 s.\n")
    out.append("| server (client) | conns × QD | workload | IOPS | lat p50 / p99 µs | server CPU µs/IO | server RSS MiB | RSS KiB per conn |")
    out.append("|---|---|---|---|---|---|---|---|")
    for r in rows:
        cpu = r["server_cpu_s"] * 1e6 / r["ios"] if r.get("ios") else None
        rss = r.get("rss_kib", 0)
        out.append(f"| {r['server']} ({r['client']}) | {r['conns']} × {r['qd']} | {r['rw']} {r['bs'] // 1024}k | "
                   f"{fmt_num(r['iops'])} | {r.get('p50', 0):.0f} / {r.get('p99', 0):.0f} | "
                   f"{'–' if cpu is None else f'{cpu:.1f}'} | {rss / 1024:.1f} | "
                   f"{rss / r['conns']:.0f} |")
    by = defaultdict(dict)
    for r in rows:
        by[(r["conns"], r["qd"], r["rw"], r["bs"])][r["server"]] = r
    out.append("\nqbd-server ÷ nbd-server:\n")
    out.append("| conns × QD | workload | IOPS ratio | server CPU per IO ratio (lower is better) |")
    out.append("|---|---|---|---|")
    for (c, q, rw, bs), s in sorted(by.items()):
        if "qbd-server" in s and "nbd-server" in s:
            a, b = s["qbd-server"], s["nbd-server"]
            cr = "–"
            if a.get("ios") and b.get("ios") and b["server_cpu_s"] > 0:
                cr = f"{(a['server_cpu_s'] / a['ios']) / (b['server_cpu_s'] / b['ios']):.2f}×"
            out.append(f"| {c} × {q} | {rw} {bs // 1024}k | {a['iops'] / b['iops']:.2f}× | {cr} |")


def loadgen_rdma_table(raw, out):
    """qbd-loadgen rdma:// against qbd-server in the VM (the server alone
    over soft-RoCE): raw/loadgen-rdma/<rw>.<bs>.c<conns>.q<qd>.r<rep>.json,
    one qbd-loadgen --json object each."""
    d = os.path.join(raw, "loadgen-rdma")
    if not os.path.isdir(d):
        return
    groups = defaultdict(list)
    for name in sorted(os.listdir(d)):
        if not name.endswith(".json"):
            continue
        try:
            with open(os.path.join(d, name)) as f:
                r = json.load(f)
        except (OSError, ValueError) as e:
            print(f"report: {name}: unreadable loadgen JSON ({e})", file=sys.stderr)
            continue
        groups[(r["rw"], r["bs"], r["connections"], r["queue_depth"])].append(r)
    if not groups:
        return
    out.append("\n## The server alone over RDMA (in the VM)\n")
    out.append("`qbd-loadgen rdma://` (bench/loadgen/, librdmacm client, buffers registered once) "
               "against qbd-server across the soft-RoCE (rxe) veth wire, brd-backed volume; no "
               "kernel client involved. Median over repetitions (min–max).\n")
    out.append("| workload | conns × QD | IOPS | MiB/s | lat p50 / p99 µs |")
    out.append("|---|---|---|---|---|")
    for (rw, bs, c, q), runs in sorted(groups.items()):
        iops = stat([{"v": r["iops"]} for r in runs], "v")
        mibs = stat([{"v": r["mib_s"]} for r in runs], "v")
        p50 = stat([{"v": r["lat_us"]["p50"]} for r in runs], "v")
        p99 = stat([{"v": r["lat_us"]["p99"]} for r in runs], "v")
        out.append(f"| {rw} {bs // 1024}k | {c} × {q} | {fmt_stat(iops)} | {fmt_stat(mibs)} | "
                   f"{p50[0]:.0f} / {p99[0]:.0f} |")


def chart(dirpath, rows):
    if not rows:
        return None
    dat = os.path.join(dirpath, "chart.dat")
    with open(dat, "w") as f:
        f.write("# workload then median min max per device: " + " ".join(DEVICES) + "\n")
        for wl, cells in rows:
            label = WL_NAMES[wl].replace(" x2 jobs", "x2").replace(" ", "\\n", 1)
            vals = []
            for c in cells:
                vals += ["NaN"] * 3 if c is None else [f"{c[0]:.1f}", f"{c[1]:.1f}", f"{c[2]:.1f}"]
            f.write(f"\"{label}\" " + " ".join(vals) + "\n")
    png = dirpath.rstrip("/") + ".png"
    parts = []
    for i, dev in enumerate(DEVICES):
        if all(cells[i] is None for _, cells in rows):
            continue
        c = 2 + 3 * i
        xtic = ":xtic(1)" if not parts else ""
        parts.append(f"dat using {c}:{c + 1}:{c + 2}{xtic} title \"{CHART_TITLES[dev]}\"")
    if not parts:
        return None
    plotcmd = "plot " + ", ".join(parts)
    try:
        subprocess.run(["gnuplot", "-e", f"dat='{dat}'; out='{png}'; plotcmd='{plotcmd}'",
                        os.path.join(HERE, "chart.gp")],
                       check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"report: gnuplot failed: {e}", file=sys.stderr)
        return None
    return png


def read_text(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def main():
    if len(sys.argv) != 2:
        print("usage: report.py RESULTS_DIR", file=sys.stderr)
        return 2
    d = sys.argv[1].rstrip("/")
    name = os.path.basename(d)
    groups = collect(os.path.join(d, "raw"))
    out = [f"# Benchmark {name}\n"]
    out.append("Measured by `make bench` (bench/run.sh). **Read this first:** the VM numbers come from "
               "QEMU TCG software emulation (no KVM) on a 2-core host shared with other engineers' "
               "builds and VMs, so absolute values mean little and are noisy (±20–30 % between runs "
               "is normal here); only the side-by-side comparison inside one run means something. "
               "Every number below was measured; a dash means it was not.\n")
    env = read_text(os.path.join(d, "vm-env.txt"))
    devs = read_text(os.path.join(d, "vm-devices.txt"))
    if env:
        out.append("```\n" + env + "\n```\n")
    if groups:
        out.append("## In the VM: qbd vs NBD vs NVMe/TCP, one boot\n")
        out.append("Every server sits behind a veth pair: nbd-server and qbd-server in network "
                   "namespaces of their own, the in-kernel nvmet target (which only listens in the "
                   "initial namespace) behind a veth pair with policy routing. Same queue count for "
                   "all (qbd hardware queues = NVMe IO queues = NBD connections = guest CPUs), queue "
                   "depth 128, no IO scheduler, max IO size raised to 1 MiB where the device allows. "
                   "fio `direct=1`, pinned CPUs (one job on the last CPU, two jobs split), ramp then "
                   "timed run; devices interleaved within each repetition.\n")
        if devs:
            out.append("Devices as the guest saw them:\n\n```\n" + devs + "\n```")
        png = chart(d, [])
        rows = []
        combos = vm_tables(groups, out, rows)
        png = chart(d, rows)
        if png:
            out.insert(4, f"![4k IOPS and 128k MiB/s, brd backend]({os.path.basename(png)})\n")
        targets(groups, combos, out)
        out.append("\nRDMA rows (NVMe/RDMA, qbd/RDMA) run over soft-RoCE (rdma_rxe) on a veth pair in "
                   "the initial namespace (rxe works nowhere else on this kernel), brd backend only; "
                   "rxe does in software what a NIC does in hardware, so these rows compare the two "
                   "RDMA stacks with each other, not RDMA with TCP.\n")
        mem = [read_text(os.path.join(d, f"vm-qbd-mem-{k}.txt")) for k in ("before", "after", "runs")]
        if any(mem):
            out.append("\n## Memory\n")
            out.append("Guest /proc/meminfo (kB) before mapping the qbd device and after (caches "
                       "dropped), then server RSS and slab caches after the runs:\n")
            out.append("```\nbefore map: " + (mem[0] or "–") + "\nafter map:  " + (mem[1] or "–") +
                       "\n" + (mem[2] or "") + "\n```")
            if mem[0] and mem[1]:
                kv = [dict(x.split("=") for x in m.split()) for m in mem[:2]]
                deltas = ", ".join(f"{k} {int(kv[1][k]) - int(kv[0][k]):+d} kB" for k in kv[0]
                                   if k in kv[1] and k != "MemFree")
                out.append(f"\nMapping one qbd device changed: {deltas} (MemFree moves with "
                           "unrelated page cache, so it is not used).")
    loadgen_rdma_table(os.path.join(d, "raw"), out)
    native_tables(os.path.join(d, "native", "results.jsonl"), out)
    if os.path.exists(os.path.join(d, "native-after", "results.jsonl")):
        out.append("\n### After the fix: qbd-server alone, natively\n")
        out.append("The same runs against qbd-server with its request buffers kept on the heap "
                   "(see Notes), nbd-server rows above unchanged:\n")
        after = []
        native_tables(os.path.join(d, "native-after", "results.jsonl"), after)
        cut = next((i for i, line in enumerate(after) if "÷" in line), len(after))
        out.extend(line for line in after[:cut] if line.startswith("|"))
    notes = read_text(os.path.join(d, "notes.md"))
    if notes:
        out.append("\n## Notes\n\n" + notes)
    with open(d + ".md", "w") as f:
        f.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
