#!/usr/bin/env python3
"""Where a QD1 request's time goes, from an ftrace text dump.

    bench/trace_phases.py [--timeline] TRACE.txt...

TRACE.txt is what bench/vm/trace-qd1.sh writes: the events of fio doing 4k
QD1 on one qbd device (its block events only). Each request runs from its
block_rq_issue to the next one; for each, the milestones below are the
first such event after the issue, in microseconds from it:

  wire      the request leaves the client (first packet handed to a veth)
  server    the server gets a CPU (a switch to qbd-server)
  complete  block_rq_complete: the reply is in and the request is done
  fio       fio gets the CPU back after that
  next      fio issues its next request (the period of the loop)

and the events between two issues, per request: context switches, syscalls
by the server and by fio, packets (netif_rx) and IPIs. Medians over the
requests, and the quartiles of each milestone. --timeline also prints the
events of the request whose period is the median one.
"""
import re
import statistics
import sys

LINE = re.compile(r'^\s*(.{1,16})-(\d+)\s+\[(\d+)\]\s+\S+\s+([\d.]+):\s+(\w+):\s*(.*)$')
SERVER = 'next_comm=qbd-server'
IPIS = ('reschedule_entry', 'call_function_entry', 'call_function_single_entry')


def parse(path):
    events = []
    with open(path, errors='replace') as f:
        for line in f:
            m = LINE.match(line)
            if m:
                events.append((float(m[4]), m[1].strip(), int(m[3]), m[5], m[6]))
    return events


def requests(events):
    """(start index, end index) of each request: issue to next issue."""
    issues = [i for i, e in enumerate(events) if e[3] == 'block_rq_issue']
    return list(zip(issues, issues[1:]))


def measure(events, a, b):
    t0 = events[a][0]
    d = {'switches': 0, 'server syscalls': 0, 'fio syscalls': 0, 'packets': 0, 'IPIs': 0}
    for t, comm, _cpu, name, rest in events[a:b + 1]:
        us = (t - t0) * 1e6
        if name in ('net_dev_xmit', 'netif_rx') and 'wire' not in d:
            d['wire'] = us
        if name == 'sched_switch':
            d['switches'] += 1
            if SERVER in rest and 'server' not in d:
                d['server'] = us
            if 'next_comm=fio' in rest and 'complete' in d and 'fio' not in d:
                d['fio'] = us
        elif name == 'block_rq_complete' and 'complete' not in d:
            d['complete'] = us
        elif name == 'sys_enter':
            if comm.startswith('qbd-server'):
                d['server syscalls'] += 1
            elif comm.startswith('fio'):
                d['fio syscalls'] += 1
        elif name == 'netif_rx':
            d['packets'] += 1
        elif name in IPIS:
            d['IPIs'] += 1
    if 'complete' in d and 'fio' not in d:
        d['fio'] = d['complete']  # fio never slept: it ran on
    d['next'] = (events[b][0] - t0) * 1e6
    return d


def timeline(events, a, b):
    t0 = last = events[a][0]
    for t, comm, cpu, name, rest in events[a:b + 1]:
        print('  %8.1f %+7.1f cpu%d %-16s %-26s %s' %
              ((t - t0) * 1e6, (t - last) * 1e6, cpu, comm[:16], name, rest[:90]))
        last = t


def main(argv):
    show = '--timeline' in argv
    paths = [a for a in argv if a != '--timeline']
    if not paths:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    rc = 0
    for path in paths:
        events = parse(path)
        reqs = requests(events)
        if len(reqs) < 10:
            print('%s: %d requests traced, too few to say anything' % (path, len(reqs)), file=sys.stderr)
            rc = 1
            continue
        rows = [measure(events, a, b) for a, b in reqs]
        print('%s: %d requests' % (path, len(rows)))
        print('  %-16s %8s %8s %8s' % ('milestone, us', 'p25', 'median', 'p75'))
        for key in ('wire', 'server', 'complete', 'fio', 'next'):
            v = [r[key] for r in rows if key in r]
            if len(v) >= 2:
                q = statistics.quantiles(v, n=4)
                print('  %-16s %8.1f %8.1f %8.1f' % (key, q[0], statistics.median(v), q[2]))
        print('  per request (median): ' + ', '.join(
            '%s %g' % (k, statistics.median(r[k] for r in rows))
            for k in ('switches', 'server syscalls', 'fio syscalls', 'packets', 'IPIs')))
        if show:
            period = statistics.median(r['next'] for r in rows)
            k = min(range(len(rows)), key=lambda i: abs(rows[i]['next'] - period))
            print('  the median request (%.0f us):' % rows[k]['next'])
            timeline(events, *reqs[k])
    return rc


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
