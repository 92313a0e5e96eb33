"""The DirectRunner fix that frees expired windows keeps every pane.

The count's own windowing (60 s windows, 60 s allowed lateness, so Beam
keeps a window 300 s past its end) drives Beam's trigger driver wrapped by
the fix, with timers fired as the DirectRunner fires them: the panes are
those of the unwrapped driver, and an expired window leaves no state.
"""

from apache_beam.runners.direct.evaluation_context import DirectUnmergedState
from apache_beam.runners.direct.util import KeyedWorkItem, TimerFiring
from apache_beam.transforms.trigger import (
  MergeableStateAdapter,
  create_trigger_driver,
)
from apache_beam.transforms.window import IntervalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP, Timestamp
from apache_beam.utils.windowed_value import PaneInfoTiming, WindowedValue

from pipeline.direct_runner_window_expiry import (
  EXPIRY_TIMER,
  ExpiringTriggerDriver,
  _expiry_last,
)
from transforms.count import view_windowing

WINDOWING = view_windowing(60, 60, None).windowing
W0 = IntervalWindow(0, 60)
EXPIRY_SEC = 60 + 300  # W0's end plus Beam's allowed lateness


def views(*seconds) -> list[WindowedValue]:
  return [WindowedValue('v', Timestamp(s), (W0,)) for s in seconds]


def freed(state) -> bool:
  """No window has state, timers or a number left."""
  window_ids = state.get_global_state(MergeableStateAdapter.WINDOW_IDS, {})
  return not state.state and not state.timers and not window_ids


class Runner:
  """Drives one key's state as the streaming DirectRunner does."""

  def __init__(self, expiring: bool = True):
    driver = create_trigger_driver(WINDOWING)
    if expiring:
      driver = ExpiringTriggerDriver(driver, WINDOWING.allowed_lateness)
    self.driver = driver
    self.state = DirectUnmergedState()
    self.watermark = MIN_TIMESTAMP
    self.panes = []

  def add(self, *seconds):
    self.panes += self.driver.process_elements(
      self.state, views(*seconds), self.watermark, self.watermark
    )

  def advance_to(self, seconds):
    self.watermark = Timestamp(seconds)
    expired = self.state.get_and_clear_timers(self.watermark)
    firings = [
      TimerFiring(b'k', window, name, domain, timestamp)
      for window, (name, domain, timestamp, _) in expired
    ]
    for firing in _expiry_last(KeyedWorkItem(b'k', firings)).timer_firings:
      self.panes += self.driver.process_timer(
        firing.window,
        firing.name,
        firing.time_domain,
        firing.timestamp,
        self.state,
        self.watermark,
      )

  def described_panes(self):
    return [(len(p.value), p.pane_info.timing) for p in self.panes]


def test_panes_are_unchanged_and_the_expired_window_is_freed():
  runs = [Runner(expiring=False), Runner()]
  for run in runs:
    run.add(10, 20)
    run.advance_to(61)  # on time: 2
    run.add(30)  # late: 3
    run.advance_to(EXPIRY_SEC)  # still open
    run.add(40)  # late: 4
  plain, expiring = runs
  assert expiring.state.state
  expiring.advance_to(EXPIRY_SEC + 1)
  assert (
    expiring.described_panes()
    == plain.described_panes()
    == [
      (2, PaneInfoTiming.ON_TIME),
      (3, PaneInfoTiming.LATE),
      (4, PaneInfoTiming.LATE),
    ]
  )
  assert freed(expiring.state)
  # The unfixed driver keeps every view it ever saw.
  plain.advance_to(EXPIRY_SEC + 1)
  assert [len(tags['elements']) for tags in plain.state.state.values()] == [4]


def test_a_watermark_jump_past_the_expiry_still_fires_the_last_pane():
  run = Runner()
  run.add(10, 20, 30)
  run.advance_to(EXPIRY_SEC + 3600)
  assert run.described_panes() == [(3, PaneInfoTiming.ON_TIME)]
  assert freed(run.state)


def test_views_of_an_expired_window_are_dropped_as_beam_drops_them():
  run = Runner()
  run.add(10)
  run.advance_to(EXPIRY_SEC + 1)
  run.add(20)
  assert run.described_panes() == [(1, PaneInfoTiming.ON_TIME)]
  assert freed(run.state)


def test_the_expiry_timer_is_set_once_per_window():
  run = Runner()
  run.add(10)
  run.add(20)
  expiries = [
    timestamp
    for timers in run.state.timers.values()
    for (name, _, _), timestamp in timers.items()
    if name == EXPIRY_TIMER
  ]
  assert expiries == [Timestamp(micros=EXPIRY_SEC * 1_000_000 + 1)]
