"""Replays the input subscription so a restarted job recounts open windows.

A job that crashed or was cancelled loses the in-flight counts of its open
windows. Every window that can still take views when the replacement starts
began at most ``window + allowed lateness`` ago, and its views were
published at most ``max future skew`` before their event time, so seeking
the subscription back by the sum of the three brings each such window's
views back. The recount is complete, dedup drops repeated copies, and the
monotone write keeps the larger count, so replaying more never harms.
"""

import datetime
import logging

from google.cloud import pubsub_v1

_LOGGER = logging.getLogger(__name__)


def replay_start(
  now: datetime.datetime,
  window_size_sec: int,
  allowed_lateness_sec: int,
  max_future_skew_sec: float,
) -> datetime.datetime:
  """The earliest publish time a view of a still-open window can have."""
  return now - datetime.timedelta(
    seconds=window_size_sec + allowed_lateness_sec + max_future_skew_sec
  )


def seek_back(subscription: str, to_time: datetime.datetime) -> None:
  """Marks every message published since ``to_time`` as unacknowledged.

  Needs the subscription to retain acknowledged messages for at least that
  long (``viewcounts provision`` keeps them for 7 days).
  """
  with pubsub_v1.SubscriberClient() as subscriber:
    subscriber.seek(request={'subscription': subscription, 'time': to_time})
  _LOGGER.info(
    'Replaying %s from %s', subscription, to_time.isoformat(timespec='seconds')
  )
