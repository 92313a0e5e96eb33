"""Lets the DirectRunner's monitor scan for due timers four times a second.

Beam 2.77's DirectRunner runs every task on one worker thread, and one of
those tasks, the monitor, requeues itself after every round. Each round
hands finished bundles to their consumers and then scans the timers of
every key of every keyed step for any that are due. A streaming count
keeps state, and timers, for every (video, window) still open, so each scan
grows with them, and the scans take turns with the bundles: a profile of a
local backlog run put a third of its time in them.

This lets a round skip the scan while bundles are running and the last
scan was less than SCAN_EVERY_SEC ago; bundles are still handed on every
round. A due timer (a window's pane, an early firing, an expiry) therefore
fires up to SCAN_EVERY_SEC later than it would have, which no pane of a
streaming run notices. A round with nothing running always scans: it is
then about to start a Pub/Sub pull, which can block for 30 s on a quiet
stream, and a due timer must not wait behind it.

It is applied by ``pipeline.run`` for local runs only, not to TestStream
tests, whose panes depend on timers firing before the stream's next event;
it is a no-op once applied.
"""

import functools
import time

from apache_beam.runners.direct import executor

SCAN_EVERY_SEC = 0.25
_PATCHED = '_viewcounts_throttled_timer_scan'


def scan_for_timers_less_often(
  monitor: type = executor._ExecutorServiceParallelExecutor._MonitorTask,
) -> None:
  fire_timers = monitor._fire_timers
  if getattr(fire_timers, _PATCHED, False):
    return
  last_scan = [float('-inf')]

  @functools.wraps(fire_timers)
  def fire_timers_at_most_every_interval(self):
    now = time.monotonic()
    if self._is_executing() and now - last_scan[0] < SCAN_EVERY_SEC:
      # No timers fired; with bundles running, the round adds no input.
      return False
    last_scan[0] = now
    return fire_timers(self)

  setattr(fire_timers_at_most_every_interval, _PATCHED, True)
  monitor._fire_timers = fire_timers_at_most_every_interval
