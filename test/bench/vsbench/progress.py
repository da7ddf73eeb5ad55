"""Progress lines of the benchmark scripts: a timestamp, then the message, flushed at once so
that a run's log shows where a long step is."""
import time


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)
