"""Frees a window's GroupByKey state on the streaming DirectRunner once the
window has expired, as Dataflow does.

Beam 2.77's streaming DirectRunner frees a window's GroupByKey state only
when the window's trigger finishes (``_output`` in
apache_beam/transforms/trigger.py), and a trigger with late firings, as the
count's is, never finishes. Every view ever counted then stays in memory,
and as each bundle copies its key's whole state, every bundle also gets
slower. Dataflow frees a window once the watermark passes its end plus the
allowed lateness, when no more data can reach it; this adds a watermark
timer at that moment which drops the window's elements, trigger state and
timers.

Like ``direct_runner_metrics``, it is applied only to local runs and is a
no-op once applied. Merging windows (sessions) are left as they are.
"""

import functools

from apache_beam.runners.direct import transform_evaluator
from apache_beam.runners.direct.util import KeyedWorkItem
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.trigger import MergeableStateAdapter
from apache_beam.utils.timestamp import MIN_TIMESTAMP, Duration

_PATCHED = '_viewcounts_frees_expired_windows'
EXPIRY_TIMER = 'viewcounts-window-expiry'
# The trigger driver drops data once the input watermark is past a window's
# end plus the allowed lateness, and a timer fires once the watermark
# reaches its time: one microsecond later, both agree.
_PAST = Duration(micros=1)


class ExpiringTriggerDriver:
  """A GeneralTriggerDriver whose windows are freed when they expire.

  That driver keeps each window's state under a number, with the numbers of
  all windows in one map (``MergeableStateAdapter``); expiry drops the
  window from the map as well as its state and timers.
  """

  def __init__(self, driver, allowed_lateness: Duration):
    self._driver = driver
    self._allowed_lateness = allowed_lateness

  def process_elements(
    self,
    state,
    windowed_values,
    output_watermark,
    input_watermark=MIN_TIMESTAMP,
  ):
    windowed_values = list(windowed_values)
    numbered = MergeableStateAdapter(state)
    for window in {w for value in windowed_values for w in value.windows}:
      expiry = window.end + self._allowed_lateness + _PAST
      if input_watermark < expiry:
        numbered.set_timer(window, EXPIRY_TIMER, TimeDomain.WATERMARK, expiry)
    return self._driver.process_elements(
      state, windowed_values, output_watermark, input_watermark
    )

  def process_timer(
    self, window_id, name, time_domain, timestamp, state, input_watermark=None
  ):
    if name != EXPIRY_TIMER:
      return self._driver.process_timer(
        window_id, name, time_domain, timestamp, state, input_watermark
      )
    numbered = MergeableStateAdapter(state)
    window = numbered.get_window(window_id)
    for number in numbered.window_ids.pop(window):
      state.state.pop(number, None)
      state.timers.pop(number, None)
    state.set_global_state(
      MergeableStateAdapter.WINDOW_IDS, numbered.window_ids
    )
    return ()


def _expiry_last(work_item: KeyedWorkItem) -> KeyedWorkItem:
  """The work item with its expiry timers after every other timer, so that
  a watermark jump past both a window's end and its expiry still fires the
  window's last pane before the window is freed."""
  firings = sorted(
    work_item.timer_firings, key=lambda firing: firing.name == EXPIRY_TIMER
  )
  return KeyedWorkItem(work_item.encoded_key, firings, work_item.elements)


def free_windows_once_expired() -> None:
  evaluator = transform_evaluator._StreamingGroupAlsoByWindowEvaluator
  if getattr(evaluator, _PATCHED, False):
    return
  start_bundle = evaluator.start_bundle
  process_element = evaluator.process_element

  @functools.wraps(start_bundle)
  def start_bundle_expiring(self):
    start_bundle(self)
    windowing = self._applied_ptransform.transform.windowing
    if not windowing.windowfn.is_merging():
      self.driver = ExpiringTriggerDriver(
        self.driver, windowing.allowed_lateness
      )

  @functools.wraps(process_element)
  def process_element_expiry_last(self, element):
    return process_element(
      self, element.with_value(_expiry_last(element.value))
    )

  evaluator.start_bundle = start_bundle_expiring
  evaluator.process_element = process_element_expiry_last
  setattr(evaluator, _PATCHED, True)
