"""The DirectRunner speed-ups that only local runs get (pipeline.run).

They are applied here to stand-ins of the Beam classes they change, so
that the TestStream tests in this process keep Beam's own behaviour; the
emulator tests run ``python -m pipeline``, which has them all.
"""

from pipeline import direct_runner_monitor
from pipeline.direct_runner_dofn_reuse import reuse_dofns_across_bundles
from pipeline.direct_runner_monitor import (
  SCAN_EVERY_SEC,
  scan_for_timers_less_often,
)


class Monitor:
  def __init__(self, executing=True):
    self.scans = 0
    self.executing = executing

  def _is_executing(self):
    return self.executing

  def _fire_timers(self):
    self.scans += 1
    return True


def test_the_monitor_scans_for_timers_at_most_once_an_interval(monkeypatch):
  now = [1000.0]
  monkeypatch.setattr(direct_runner_monitor.time, 'monotonic', lambda: now[0])
  scan_for_timers_less_often(Monitor)
  scan_for_timers_less_often(Monitor)  # a second call changes nothing
  monitor = Monitor()

  assert monitor._fire_timers() is True
  now[0] += SCAN_EVERY_SEC / 2
  # Skipped: no timers fired, so the round may ask for more input.
  assert monitor._fire_timers() is False
  assert monitor.scans == 1
  now[0] += SCAN_EVERY_SEC
  assert monitor._fire_timers() is True
  assert monitor.scans == 2
  # With nothing running, the next round would block in a pull: it scans.
  monitor.executing = False
  assert monitor._fire_timers() is True
  assert monitor.scans == 3


class ParDoEvaluator:
  def __init__(self, context, perform_dofn_pickle_test=True):
    self._perform_dofn_pickle_test = perform_dofn_pickle_test


def test_dofns_are_not_copied_for_each_bundle():
  reuse_dofns_across_bundles(ParDoEvaluator)
  reuse_dofns_across_bundles(ParDoEvaluator)  # a second call changes nothing
  assert ParDoEvaluator('context')._perform_dofn_pickle_test is False
