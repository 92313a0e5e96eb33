"""CountViewsPerWindow: each view once, per video and fixed event-time window.

Counting goes through a CombinePerKey, so each worker tallies its own views
before the shuffle and only tallies cross the network. The tally also drops
duplicates: Pub/Sub delivers at least once, and a replay delivers again on
purpose, so within its video and window the first copy of an ``eventId``
counts and later copies are duplicates. Views without an ``eventId`` cannot
be recognised and count as they come.

Deduplicating inside the combiner, rather than in a stateful step keyed by
eventId, keeps one keyed step per view instead of two; the state it needs,
the window's set of eventIds, is held and dropped with the window itself.
"""

import random
import zlib
from typing import NamedTuple

import apache_beam as beam
from apache_beam.coders import TupleCoder, VarIntCoder
from apache_beam.transforms import trigger, window
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import (
  ReadModifyWriteStateSpec,
  TimerSpec,
  on_timer,
)

from transforms import accounting
from transforms.lateness import LATENESS_MARGIN_SEC


class ViewTally(NamedTuple):
  """A window's views so far, and the repeated copies left out of them."""

  views: int
  duplicates: int


class CountDistinctViewsFn(beam.CombineFn):
  """eventId (or None) -> ViewTally of one video in one window.

  The accumulator is [the set of eventIds seen, views without an eventId,
  copies that carried an eventId].
  """

  def create_accumulator(self):
    return [set(), 0, 0]

  def add_input(self, accumulator, event_id):
    if event_id is None:
      accumulator[1] += 1
    else:
      accumulator[0].add(event_id)
      accumulator[2] += 1
    return accumulator

  def merge_accumulators(self, accumulators):
    event_ids, anonymous, copies = self.create_accumulator()
    for ids, more_anonymous, more_copies in accumulators:
      event_ids |= ids
      anonymous += more_anonymous
      copies += more_copies
    return [event_ids, anonymous, copies]

  def extract_output(self, accumulator):
    event_ids, anonymous, copies = accumulator
    return ViewTally(len(event_ids) + anonymous, copies - len(event_ids))


def view_windowing(
  window_size_sec: int,
  allowed_lateness_sec: int,
  early_firing_sec: int | None,
  accumulation_mode=trigger.AccumulationMode.ACCUMULATING,
) -> beam.WindowInto:
  """Panes at the watermark, for each late view, and optionally early.

  Accumulating: every pane carries the window's whole count so far, so a
  write of the newest pane is always the best answer, and a lost or
  repeated pane is harmless. (Only a step whose panes are merged again
  downstream, as _TallyInShards does, discards.) DropTooLateViews enforces
  the user's allowed lateness; Beam's is wider by two margins: one for a
  view on its way from the gate to the tally, one for the tally's last
  pane on its way to the next keyed step, so that no runner drops either
  as late.
  """
  early = (
    trigger.AfterProcessingTime(early_firing_sec) if early_firing_sec else None
  )
  return beam.WindowInto(
    window.FixedWindows(window_size_sec),
    trigger=trigger.AfterWatermark(early=early, late=trigger.AfterCount(1)),
    accumulation_mode=accumulation_mode,
    allowed_lateness=open_after_end_sec(allowed_lateness_sec),
  )


def open_after_end_sec(allowed_lateness_sec: int) -> int:
  """How long after its end Beam keeps a window's state."""
  return allowed_lateness_sec + 2 * LATENESS_MARGIN_SEC


def _video_and_event_id(view) -> tuple[str, str | None]:
  return view.event.video_id, view.event.event_id


class _KeepPanesThatAddViewsFn(beam.DoFn):
  """(video, ViewTally) per pane -> (video, views), when the pane adds views.

  This is also where views are counted: each pane adds what it brought to
  ``views_counted`` and ``views_duplicate``, so the counters move with what
  is written. A pane that adds no view (an on-time pane repeating the last
  early one, or a pane of duplicates only) is not written.
  """

  LAST_TALLY = ReadModifyWriteStateSpec(
    'last_tally', TupleCoder([VarIntCoder(), VarIntCoder()])
  )
  # Runners drop the state of an expired window themselves; the
  # DirectRunner does not, so a timer clears it.
  EXPIRY = TimerSpec('expiry', TimeDomain.WATERMARK)

  def __init__(self, expiry_after_end_sec: int):
    self._expiry_after_end_sec = expiry_after_end_sec

  def setup(self):
    self._counted = accounting.counter(accounting.COUNTED)
    self._duplicates = accounting.counter(accounting.DUPLICATES)

  def process(
    self,
    video_tally,
    pane_window=beam.DoFn.WindowParam,
    last_tally=beam.DoFn.StateParam(LAST_TALLY),
    expiry=beam.DoFn.TimerParam(EXPIRY),
  ):
    video_id, tally = video_tally
    previous = last_tally.read()
    if previous is None:
      previous = ViewTally(0, 0)
      expiry.set(pane_window.max_timestamp() + self._expiry_after_end_sec)
    last_tally.write((tally.views, tally.duplicates))
    self._counted.inc(tally.views - previous[0])
    self._duplicates.inc(tally.duplicates - previous[1])
    if tally.views > previous[0]:
      yield video_id, tally.views

  @on_timer(EXPIRY)
  def expire(self, last_tally=beam.DoFn.StateParam(LAST_TALLY)):
    last_tally.clear()


class CountViewsPerWindow(beam.PTransform):
  """ReceivedView -> (video_id, views so far), one per pane, in its window."""

  def __init__(
    self,
    window_size_sec: int,
    allowed_lateness_sec: int,
    early_firing_sec: int | None = None,
    hot_key_fanout: int | None = None,
  ):
    super().__init__()
    self._window_size_sec = window_size_sec
    self._allowed_lateness_sec = allowed_lateness_sec
    self._early_firing_sec = early_firing_sec
    self._hot_key_fanout = hot_key_fanout

  def expand(self, views):
    windows = (
      self._window_size_sec,
      self._allowed_lateness_sec,
      self._early_firing_sec,
    )
    tally = beam.CombinePerKey(CountDistinctViewsFn())
    if self._hot_key_fanout:
      tally = _TallyInShards(self._hot_key_fanout, windows)
    return (
      views
      | 'KeyByVideo' >> beam.Map(_video_and_event_id)
      | 'FixedWindows' >> view_windowing(*windows)
      | 'TallyPerVideo' >> tally
      | 'KeepPanesThatAddViews'
      >> beam.ParDo(
        _KeepPanesThatAddViewsFn(open_after_end_sec(self._allowed_lateness_sec))
      )
    )


class _TallyInShards(beam.PTransform):
  """(video, eventId) -> (video, ViewTally), tallied first in shards.

  For videos too hot for one worker: each view goes to one of ``shards``
  intermediate keys per video, whose partial tallies are then merged per
  video. A view's shard comes from its eventId, so every copy of a view
  lands in the same shard, and merging the eventId sets keeps a view seen
  twice counted once.

  Beam's own CombinePerKey.with_hot_key_fanout does the same, but in Beam
  2.77 it re-windows its intermediate steps without the allowed lateness,
  so they drop every late view silently
  (tests/pipeline/test_hot_key.py); this keeps the lateness.
  """

  def __init__(self, shards: int, windows: tuple):
    """windows: view_windowing's arguments."""
    super().__init__()
    self._shards = shards
    self._windows = windows

  def expand(self, video_views):
    return (
      video_views
      | 'KeyByShard' >> beam.Map(_shard_key, self._shards)
      # Discarding, so that each shard pane carries only what is new and
      # the merge below, accumulating, adds each view once.
      | 'ShardWindows'
      >> view_windowing(*self._windows, trigger.AccumulationMode.DISCARDING)
      | 'TallyPerShard' >> beam.CombinePerKey(_PartialTallyFn())
      | 'DropShard' >> beam.Map(_drop_shard)
      | 'VideoWindows' >> view_windowing(*self._windows)
      | 'MergeShards' >> beam.CombinePerKey(MergeViewTalliesFn())
    )


def _shard_key(video_event, shards: int):
  """(video, eventId) -> ((video, shard), eventId)."""
  video_id, event_id = video_event
  if event_id is None:
    # Nothing to deduplicate: any shard will do.
    shard = random.randrange(shards)
  else:
    # crc32, not hash(): Python salts str hashes per process.
    shard = zlib.crc32(event_id.encode('utf-8', 'surrogatepass')) % shards
  return (video_id, shard), event_id


def _drop_shard(shard_tally):
  """((video, shard), tally) -> (video, tally)."""
  (video_id, _), tally = shard_tally
  return video_id, tally


class _PartialTallyFn(CountDistinctViewsFn):
  """eventId -> the accumulator itself, for MergeViewTalliesFn to merge."""

  def extract_output(self, accumulator):
    return accumulator


class MergeViewTalliesFn(beam.CombineFn):
  """Partial CountDistinctViewsFn accumulators -> one ViewTally.

  For tallies made in parts (TallyArchivedViews' chunks, _TallyInShards'
  shards); merging the eventId sets keeps a view seen in two of them
  counted once.
  """

  def __init__(self):
    self._views = CountDistinctViewsFn()

  def create_accumulator(self):
    return self._views.create_accumulator()

  def add_input(self, accumulator, partial):
    return self._views.merge_accumulators([accumulator, partial])

  def merge_accumulators(self, accumulators):
    return self._views.merge_accumulators(accumulators)

  def extract_output(self, accumulator):
    return self._views.extract_output(accumulator)


class CountArchivedViewsPerWindow(beam.PTransform):
  """((video_id, window start), partial tally) -> (video_id, views), one
  per window, in its window, in a batch.

  A batch has no early or late data: each window is tallied once, when
  all its views are in, so there is no pane to compare with the last and
  views are counted straight from each tally. The tallies are merged by
  (video, window start) in the global window and only then put in their
  windows: a windowed GroupByKey runs Beam's trigger machinery for every
  key, which made most of a backfill's time.
  """

  def __init__(self, window_size_sec: int):
    super().__init__()
    self._window_size_sec = window_size_sec

  def expand(self, partial_tallies):
    return (
      partial_tallies
      | 'MergeTallies' >> beam.CombinePerKey(MergeViewTalliesFn())
      | 'CountTallies' >> beam.ParDo(_CountTalliesFn())
      | 'FixedWindows'
      >> beam.WindowInto(window.FixedWindows(self._window_size_sec))
    )


class _CountTalliesFn(beam.DoFn):
  """((video, window start), ViewTally) -> (video, views) timestamped at
  the window start, counting both figures."""

  def setup(self):
    self._counted = accounting.counter(accounting.COUNTED)
    self._duplicates = accounting.counter(accounting.DUPLICATES)

  def process(self, window_tally):
    (video_id, window_start), tally = window_tally
    self._counted.inc(tally.views)
    self._duplicates.inc(tally.duplicates)
    yield window.TimestampedValue((video_id, tally.views), window_start)
