"""Publish views to Pub/Sub and keep the truth of what was accepted.

A view enters the truth only once Pub/Sub has acknowledged its publish, so
the truth matches what the pipeline can read even when some publishes fail.
"""

import contextlib
import datetime
import json
import logging
import random
import threading
import time
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from google.cloud import pubsub_v1
from google.cloud.pubsub_v1 import types

from transforms import schema
from viewcounts import messages, synthetic, times, truth

_LOGGER = logging.getLogger(__name__)

DEFAULT_MAX_IN_FLIGHT = 10_000
# Sleeping for less than this costs more than it paces.
_MIN_SLEEP_SEC = 0.002


class PublishResult(NamedTuple):
  published: int
  failed: int
  elapsed_sec: float
  # The expected rows for what was published, ordered by video and window.
  truth: list[schema.WindowCount]
  # Published messages the truth leaves out: malformed, or no eventTime.
  uncounted: int = 0
  # (video, window) rows that got a view published after the window ended:
  # any counter that writes once per window must write these again.
  late_rows: int = 0

  def summary(self) -> str:
    rate = self.published / self.elapsed_sec if self.elapsed_sec else 0.0
    text = (
      f'published {self.published} views in {self.elapsed_sec:.1f}s '
      f'({rate:.1f}/s), {self.failed} failed'
    )
    if self.uncounted:
      text += f', {self.uncounted} left out of the truth'
    return text


def make_publisher(
  max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
) -> pubsub_v1.PublisherClient:
  """A client that batches and blocks once max_in_flight are unconfirmed."""
  return pubsub_v1.PublisherClient(
    # 1,000 messages is the most one Publish request may carry; 10 ms is
    # the client's own default latency, kept so batching adds little delay.
    batch_settings=types.BatchSettings(
      max_messages=1000, max_bytes=1_000_000, max_latency=0.01
    ),
    publisher_options=types.PublisherOptions(
      flow_control=types.PublishFlowControl(
        message_limit=max_in_flight,
        byte_limit=max_in_flight * 2048,
        limit_exceeded_behavior=types.LimitExceededBehavior.BLOCK,
      )
    ),
  )


def publish_synthetic(
  topic_path: str,
  *,
  rate: float,
  duration_sec: float,
  videos: int,
  zipf_s: float = 1.2,
  late_fraction: float = 0.02,
  duplicate_fraction: float = 0.0,
  max_late_sec: float = 20.0,
  seed: int = 0,
  window_size_sec: int = 60,
  hot_share: float = 0.0,
  publisher: pubsub_v1.PublisherClient | None = None,
) -> PublishResult:
  """Publishes round(rate * duration_sec) synthetic views at rate per second.

  Each view's eventTime is its publish time, less its lateness for the
  late_fraction that arrive late; see viewcounts.synthetic. A
  duplicate_fraction of views is sent twice, like a publisher's retry: the
  copy counts as published and is left out of the truth.
  """
  if rate <= 0 or duration_sec < 0:
    raise ValueError('rate must be positive and duration not negative')
  total = round(rate * duration_sec)
  views = synthetic.synthetic_views(
    videos, zipf_s, late_fraction, max_late_sec, seed, hot_share
  )
  tracker = _Tracker(truth.TruthCounter(window_size_sec))
  retries = random.Random(f'duplicates-{seed}')
  window_ms = window_size_sec * 1000
  late_rows = set()
  start = time.monotonic()
  with _client(publisher) as client:
    for index, view in zip(range(total), views, strict=False):
      # Pace against the start, not the previous send, so that pauses (a
      # blocked flow control, a slow batch) are caught up, not accumulated.
      delay = start + index / rate - time.monotonic()
      if delay > _MIN_SLEEP_SEC:
        time.sleep(delay)
      now_ms = time.time_ns() // 1_000_000
      event_ms = now_ms - view.late_by_ms
      if now_ms // window_ms > event_ms // window_ms:
        late_rows.add((view.video_id, event_ms // window_ms))
      data = _json_bytes(synthetic.view_event(view, event_ms))
      # Synthetic eventIds are unique, so the truth need not remember them.
      event = truth.CountableEvent(
        view.video_id, times.from_epoch_millis(event_ms), None
      )
      tracker.track(client.publish(topic_path, data), event)
      if retries.random() < duplicate_fraction:
        tracker.track(client.publish(topic_path, data), None)
    tracker.wait()
  result = tracker.result(time.monotonic() - start)
  return result._replace(late_rows=len(late_rows))


def publish_messages(
  topic_path: str,
  file_messages: Iterable[messages.FileMessage],
  *,
  window_size_sec: int = 60,
  max_future_skew_sec: float = truth.DEFAULT_MAX_FUTURE_SKEW_SEC,
  publisher: pubsub_v1.PublisherClient | None = None,
) -> PublishResult:
  """Publishes the messages' exact bytes and attributes, as fast as allowed.

  The truth counts a message only when truth.countable_event() accepts its
  data, judged at its publish time.
  """
  tracker = _Tracker(truth.TruthCounter(window_size_sec))
  start = time.monotonic()
  with _client(publisher) as client:
    for message in file_messages:
      now = datetime.datetime.now(datetime.timezone.utc)
      event = truth.countable_event(message.data, now, max_future_skew_sec)
      future = client.publish(topic_path, message.data, **message.attributes)
      tracker.track(future, event)
    tracker.wait()
  return tracker.result(time.monotonic() - start)


def _json_bytes(event: dict) -> bytes:
  return json.dumps(event, ensure_ascii=False, separators=(',', ':')).encode(
    'utf-8'
  )


@contextlib.contextmanager
def _client(
  publisher: pubsub_v1.PublisherClient | None,
) -> Iterator[pubsub_v1.PublisherClient]:
  """The given client, or a new one that is flushed and closed afterwards."""
  if publisher is not None:
    yield publisher
    return
  client = make_publisher()
  try:
    yield client
  finally:
    client.stop()
    client.transport.close()


class _Tracker:
  """Counts publish outcomes and feeds confirmed views to the truth."""

  def __init__(self, counter: truth.TruthCounter):
    self._counter = counter
    self._done = threading.Condition()
    self._in_flight = 0
    self._published = 0
    self._failed = 0
    self._uncounted = 0

  def track(self, future, event: truth.CountableEvent | None) -> None:
    with self._done:
      self._in_flight += 1
    # The callback may run at once, in this thread, so the lock is released.
    future.add_done_callback(lambda f: self._finish(f, event))

  def _finish(self, future, event: truth.CountableEvent | None) -> None:
    error = future.exception()
    with self._done:
      self._in_flight -= 1
      if error is not None:
        if not self._failed:
          _LOGGER.error(
            'Publish failed (later failures are counted): %s', error
          )
        self._failed += 1
      elif event is None:
        self._published += 1
        self._uncounted += 1
      else:
        self._published += 1
        self._counter.add(event.video_id, event.event_time, event.event_id)
      self._done.notify_all()

  def wait(self) -> None:
    with self._done:
      self._done.wait_for(lambda: self._in_flight == 0)

  def result(self, elapsed_sec: float) -> PublishResult:
    with self._done:
      return PublishResult(
        self._published,
        self._failed,
        elapsed_sec,
        self._counter.rows(),
        self._uncounted,
      )
