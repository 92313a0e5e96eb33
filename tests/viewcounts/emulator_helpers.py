"""Helpers for the tests that run against the emulators."""

import datetime
import time

from google.cloud import pubsub_v1
from google.cloud.bigtable.table import Table

from transforms import schema
from viewcounts.resources import Resources

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def cli_flags(resources: Resources) -> list[str]:
  return [
    '--project', resources.project,
    '--instance', resources.instance,
    '--table', resources.table,
    '--topic', resources.topic,
    '--subscription', resources.subscription,
    '--dead-letter-topic', resources.dead_letter_topic,
  ]  # fmt: skip


def pull(
  subscription_path: str, expected: int, timeout_sec: float = 30.0
) -> list[pubsub_v1.types.PubsubMessage]:
  """Pulls and acknowledges until expected messages came, or timeout."""
  received = []
  deadline = time.monotonic() + timeout_sec
  with pubsub_v1.SubscriberClient() as subscriber:
    while len(received) < expected and time.monotonic() < deadline:
      response = subscriber.pull(
        subscription=subscription_path, max_messages=1000, timeout=10
      )
      if response.received_messages:
        subscriber.acknowledge(
          subscription=subscription_path,
          ack_ids=[m.ack_id for m in response.received_messages],
        )
      received.extend(m.message for m in response.received_messages)
  return received


def write_count(
  table: Table,
  video_id: str,
  window_start: datetime.datetime,
  views: int,
  window_size_sec: int = 60,
) -> None:
  """Writes a count as the pipeline does (transforms/schema.py)."""
  row = table.direct_row(
    schema.row_key(video_id, window_start, window_size_sec)
  )
  row.set_cell(
    schema.COLUMN_FAMILY,
    schema.COUNT_COLUMN,
    schema.encode_count(views),
    timestamp=EPOCH
    + datetime.timedelta(microseconds=schema.count_version_micros(views)),
  )
  row.commit()
