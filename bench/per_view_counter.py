"""The per-view counter people write first: one Bigtable increment per view.

A Pub/Sub streaming-pull subscriber parses each view with the pipeline's
own rules, increments the view's (video, window) row with
ReadModifyWriteRow, and acknowledges only then. It writes the same row keys
and the same 64-bit big-endian count as the pipeline, so ``viewcounts
verify --table`` checks it the same way. It has no dedup: a view sent
twice, or redelivered because the counter died between its increment and
its ack, is counted twice.

    python -m bench.per_view_counter [--seconds 60]

It reads ``viewcounts provision``'s subscription and writes its table (on
the emulators when their variables are set) until stopped. Restarting it
after a crash is just starting it again: Pub/Sub redelivers what it had
not acknowledged.
"""

import argparse
import datetime
import logging
import threading
import time
from typing import NamedTuple

from google.cloud import pubsub_v1
from google.cloud.pubsub_v1 import types

from transforms import events, schema
from viewcounts.resources import Resources

_LOGGER = logging.getLogger(__name__)


class CounterStats(NamedTuple):
  increments: int  # Bigtable mutations: one per view counted
  malformed: int  # acknowledged without a write


class PerViewCounter:
  """Counts every view it receives with one increment, until stopped."""

  def __init__(
    self,
    resources: Resources,
    window_size_sec: int = 60,
    max_outstanding: int = 1000,
  ):
    self._resources = resources
    self._window_size_sec = window_size_sec
    self._table = resources.bigtable_table()
    self._subscriber = pubsub_v1.SubscriberClient()
    self._flow_control = types.FlowControl(max_messages=max_outstanding)
    self._lock = threading.Lock()
    self._increments = 0
    self._malformed = 0
    self._future = None

  def start(self) -> None:
    self._future = self._subscriber.subscribe(
      self._resources.subscription_path,
      self._count,
      flow_control=self._flow_control,
    )

  def stop(self) -> CounterStats:
    """Stops pulling and waits for the views in hand; idempotent."""
    if self._future is not None:
      self._future.cancel()
      self._future.result()
      self._subscriber.close()
      self._future = None
    return self.stats()

  def stats(self) -> CounterStats:
    with self._lock:
      return CounterStats(self._increments, self._malformed)

  def _count(self, message) -> None:
    try:
      key = self._row_key(message)
    except events.MalformedEvent:
      with self._lock:
        self._malformed += 1
      message.ack()
      return
    row = self._table.append_row(key)
    row.increment_cell_value(schema.COLUMN_FAMILY, schema.COUNT_COLUMN, 1)
    row.commit()
    with self._lock:
      self._increments += 1
    message.ack()

  def _row_key(self, message) -> bytes:
    event, raw_time = events.parse_view(message.data)
    event_time, _ = events.resolve_event_time(
      raw_time,
      message.attributes,
      None,
      message.publish_time,
      datetime.datetime.now(datetime.UTC),
      300,
    )
    size = self._window_size_sec
    start = int(event_time.timestamp()) // size * size
    window_start = datetime.datetime.fromtimestamp(start, datetime.UTC)
    return schema.row_key(event.video_id, window_start, size)


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--window-size-sec', type=int, default=60)
  parser.add_argument(
    '--seconds', type=float, help='stop after this long (default: never)'
  )
  args = parser.parse_args()
  logging.basicConfig(level=logging.INFO)
  counter = PerViewCounter(Resources(), args.window_size_sec)
  counter.start()
  try:
    if args.seconds is None:
      threading.Event().wait()
    time.sleep(args.seconds)
  except KeyboardInterrupt:
    pass
  print(counter.stop())


if __name__ == '__main__':
  main()
