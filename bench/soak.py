#!/usr/bin/env python3
"""Paced TradingView alerts against a running server, with the server's RSS, CPU and latency
sampled per window, so a long run shows whether they stay flat.

    bench/soak.py --pid PID --port PORT [--rate 200] [--seconds 600] [--window 30]
                  [--state-glob 'DIR/paper-*'] [--threads 16]

Open loop: alert k is due at start + k/rate, and its latency is measured from that due time,
so a server that falls behind shows it as latency (no coordinated omission). Every alert has a
unique event_id and a size different from the one before, so every alert moves the target.
Prints one line per window and a summary. Needs only the Python standard library.
"""
import argparse
import glob
import http.client
import json
import os
import threading
import time

CLK = os.sysconf("SC_CLK_TCK")


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the ")".
    return (int(fields[11]) + int(fields[12])) / CLK


def pct(sorted_ms, p):
    if not sorted_ms:
        return float("nan")
    return sorted_ms[min(len(sorted_ms) - 1, int(len(sorted_ms) * p / 100))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--rate", type=float, default=200)
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--window", type=float, default=30)
    ap.add_argument("--threads", type=int, default=16)
    ap.add_argument("--state-glob", default="")
    a = ap.parse_args()
    secret = os.environ.get("TV_SECRET", "bench-secret")
    lock = threading.Lock()
    samples = []  # (due_time, latency_ms, ok)
    start = time.monotonic() + 0.5
    total = int(a.rate * a.seconds)

    def worker(tid):
        conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=30)
        k = tid
        while k < total:
            due = start + k / a.rate
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            size = (k % 40) + 1
            direction = "short" if k % 3 == 0 else "long"
            body = json.dumps({
                "secret": secret, "symbol": "BTCUSDT", "direction": direction,
                "action": "buy", "size": f"{size}/100", "leverage": "2",
                "event_id": f"soak-{k}",
            })
            ok = False
            try:
                conn.request("POST", "/webhook/tradingview", body,
                             {"Content-Type": "text/plain"})
                r = conn.getresponse()
                r.read()
                ok = 200 <= r.status < 300
            except Exception:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=30)
            lat = (time.monotonic() - due) * 1000
            with lock:
                samples.append((due, lat, ok))
            k += a.threads

    threads = [threading.Thread(target=worker, args=(t,), daemon=True) for t in range(a.threads)]
    for t in threads:
        t.start()
    print(f"{'t(s)':>6} {'sent/s':>7} {'errors':>6} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'RSS MiB':>8} {'CPU cores':>9} {'state KiB':>9}", flush=True)
    rows = []
    w_start = start
    cpu0 = cpu_seconds(a.pid)
    while any(t.is_alive() for t in threads) or w_start < start + a.seconds:
        time.sleep(max(0.0, w_start + a.window - time.monotonic()))
        w_end = w_start + a.window
        with lock:
            win = [s for s in samples if w_start <= s[0] < w_end]
        lats = sorted(s[1] for s in win)
        errors = sum(1 for s in win if not s[2])
        try:
            cpu1 = cpu_seconds(a.pid)
            rss = rss_mib(a.pid)
        except FileNotFoundError:
            print("server exited", flush=True)
            break
        cores = (cpu1 - cpu0) / a.window
        cpu0 = cpu1
        state = sum(os.path.getsize(p) for p in glob.glob(a.state_glob)) / 1024 if a.state_glob else float("nan")
        row = (w_end - start, len(win) / a.window, errors, pct(lats, 50), pct(lats, 99), rss, cores, state)
        rows.append(row)
        print(f"{row[0]:6.0f} {row[1]:7.1f} {row[2]:6d} {row[3]:7.1f} {row[4]:7.1f} "
              f"{row[5]:8.1f} {row[6]:9.2f} {row[7]:9.0f}", flush=True)
        w_start = w_end
        if w_start >= start + a.seconds:
            break
    if len(rows) >= 4:
        q = max(1, len(rows) // 4)
        first, last = rows[:q], rows[-q:]
        avg = lambda rs, i: sum(r[i] for r in rs) / len(rs)
        print(f"first quarter: p50 {avg(first, 3):.1f} ms, p99 {avg(first, 4):.1f} ms, "
              f"RSS {avg(first, 5):.1f} MiB, CPU {avg(first, 6):.2f} cores")
        print(f"last quarter:  p50 {avg(last, 3):.1f} ms, p99 {avg(last, 4):.1f} ms, "
              f"RSS {avg(last, 5):.1f} MiB, CPU {avg(last, 6):.2f} cores")
    with lock:
        print(f"alerts sent {len(samples)}, 2xx {sum(1 for s in samples if s[2])}")


if __name__ == "__main__":
    main()
