"""Backfill speed: the batch pipeline against a plain Python loop.

Both count the same archive of views per (video, 60 s window); the loop
into a dict, the backfill with ``viewcounts backfill``'s own pipeline on the
local FnApiRunner, its counts written to text files instead of Bigtable so
that only counting is timed. The backfill's counts must equal the loop's.
The archive has unique eventIds, so the loop, which does not dedup, is
right about it.
"""

import datetime
import glob
import json
import os
import random
import time
from typing import NamedTuple

import apache_beam as beam
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from pipeline.backfill import build_backfill
from pipeline.pipeline import accounting_summary
from viewcounts import synthetic

START = datetime.datetime(2026, 12, 3, 10, 0, tzinfo=datetime.UTC)


class BackfillFigures(NamedTuple):
  views: int
  rows: int
  loop_sec: float
  backfill_sec: float
  exact: bool

  @property
  def slowdown(self) -> float:
    return self.backfill_sec / self.loop_sec


def write_archive(
  path: str, views: int, videos: int, hours: float = 1.0, seed: int = 0
) -> None:
  """views JSON lines, Zipf-picked videos, event times over hours."""
  rng = random.Random(seed)
  catalog = synthetic.video_catalog(videos)
  sampler = synthetic.ZipfSampler(videos, 1.2, rng)
  span_ms = int(hours * 3600 * 1000)
  with open(path, 'w') as archive:
    for index in range(views):
      moment = START + datetime.timedelta(milliseconds=rng.randrange(span_ms))
      event = {
        'videoId': catalog[sampler.sample()],
        'eventId': f'e{index}',
        'eventTime': moment.isoformat(timespec='milliseconds'),
      }
      archive.write(json.dumps(event) + '\n')


def count_with_loop(path: str, window_size_sec: int) -> dict:
  """What people write first: parse each line, count into a dict."""
  counts = {}
  with open(path, 'rb') as archive:
    for line in archive:
      event = json.loads(line)
      moment = datetime.datetime.fromisoformat(event['eventTime'])
      window = int(moment.timestamp()) // window_size_sec * window_size_sec
      key = (event['videoId'], window)
      counts[key] = counts.get(key, 0) + 1
  return counts


def count_with_backfill(
  path: str, window_size_sec: int, out_dir: str
) -> tuple[dict, dict]:
  """(counts, accounting) of the backfill's transforms over path."""
  prefix = os.path.join(out_dir, 'counts')
  p = beam.Pipeline(runner=FnApiRunner())
  outputs = build_backfill(p, [path], window_size_sec, target=None)
  _ = (
    outputs.counts
    | 'AsJson' >> beam.ParDo(_CountAsJson())
    | 'Write' >> beam.io.WriteToText(prefix)
  )
  result = p.run()
  result.wait_until_finish()
  counts = {}
  for shard in glob.glob(prefix + '*'):
    with open(shard) as lines:
      for line in lines:
        video_id, window, views = json.loads(line)
        counts[video_id, window] = views
  return counts, accounting_summary(result)


class _CountAsJson(beam.DoFn):
  def process(self, video_count, w=beam.DoFn.WindowParam):
    video_id, views = video_count
    yield json.dumps([video_id, int(w.start.micros // 1_000_000), views])


def compare(
  path: str, views: int, window_size_sec: int, out_dir: str
) -> BackfillFigures:
  """Times the loop, then the backfill, over the archive at path."""
  started = time.perf_counter()
  expected = count_with_loop(path, window_size_sec)
  loop_sec = time.perf_counter() - started
  started = time.perf_counter()
  counted, accounting = count_with_backfill(path, window_size_sec, out_dir)
  backfill_sec = time.perf_counter() - started
  exact = counted == expected and accounting['views_read'] == views
  return BackfillFigures(views, len(expected), loop_sec, backfill_sec, exact)
