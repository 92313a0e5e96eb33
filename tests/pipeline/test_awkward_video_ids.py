"""Video ids that differ only where an escaping scheme might fold them.

DESIGN.md: a videoId is opaque, never trimmed, case-folded or normalised,
and the row key is injective. One `python -m pipeline` run on the emulators
counts views of ids that differ only in case, by a '#' suffix, by
characters an escaping scheme might fold (space, '+', '%20', '%2520', '/',
'\\'), by Unicode normalisation, or by a trailing space. Each id gets a
distinct number of views, 1 to 17, so any two ids that shared a row, a key
prefix or a dedup key would show up as a wrong total.
"""

import json
import subprocess
import sys
import time

from tests.viewcounts.emulator_helpers import cli_flags
from viewcounts import local_run, publish, query
from viewcounts.messages import FileMessage

WINDOW_SEC = 5

AWKWARD_IDS = [
  'abc', 'ABC', 'Abc',
  'a', 'a#', 'a#b', 'a#b#c',
  'a b', 'a+b', 'a%20b', 'a%2520b', 'a/b', 'a\\b',
  '\u00e9',  # é composed
  'e\u0301',  # é decomposed: e and a combining acute accent
  '\U0001f3ac',
  'a ',  # a trailing space
]  # fmt: skip
# The i-th id (from 1) gets i views: 1 + 2 + ... + 17 = 153 in all.
EXPECTED = {video_id: i for i, video_id in enumerate(AWKWARD_IDS, start=1)}


def _views() -> list[FileMessage]:
  """EXPECTED[id] views of each id, without eventTime (so they take their
  publish time, which is now). Every id uses the same eventIds e0, e1, ...:
  dedup is per video, so they are never duplicates of each other, unless
  two ids were folded into one."""
  views = []
  for video_id, count in EXPECTED.items():
    for n in range(count):
      payload = {'videoId': video_id, 'eventId': f'e{n}'}
      data = json.dumps(payload, ensure_ascii=False).encode('utf-8')
      views.append(FileMessage(data, {}, len(views) + 1))
  return views


def test_awkward_ids_are_counted_apart(provisioned, tmp_path):
  views = _views()
  table = provisioned.bigtable_table()
  with local_run.running_pipeline(
    provisioned, str(tmp_path / 'pipeline.log'), WINDOW_SEC
  ) as pipeline:
    published = publish.publish_messages(
      provisioned.topic_path, views, window_size_sec=WINDOW_SEC
    )
    assert (published.published, published.failed) == (153, 0)
    totals = _wait_for_totals(table, EXPECTED, pipeline)
    figures = pipeline.stop()

  assert totals == EXPECTED
  # Each id's own key range holds exactly its own views.
  for video_id, count in EXPECTED.items():
    rows = query.read_video_counts(table, video_id)
    assert {row.video_id for row in rows} == {video_id}, video_id
    assert sum(row.views for row in rows) == count, video_id
  # No other rows: every stored row belongs to one of the ids.
  stored = query.read_all_counts(table)
  assert {row.video_id for row in stored} == set(EXPECTED)
  assert sum(row.views for row in stored) == 153
  # Read back as a user would, for ids a shell or URL would mangle.
  for video_id in ('a#b', 'a%2520b', 'e\u0301', 'a '):
    assert _query_cli(provisioned, video_id) == EXPECTED[video_id], video_id
  assert figures['views_read'] == 153
  assert figures['views_counted'] == 153
  assert figures['views_duplicate'] == 0


def _wait_for_totals(table, expected, pipeline) -> dict[str, int]:
  """Per-video totals once they equal expected, or at the deadline (a
  window can be written up to 30 s after it ends, CASES C10)."""
  deadline = time.monotonic() + local_run.close_wait_sec(WINDOW_SEC)
  while True:
    totals = dict(query.top_videos(query.read_all_counts(table), 100))
    if totals == expected or time.monotonic() > deadline:
      return totals
    pipeline.check_alive()
    time.sleep(1)


def _query_cli(resources, video_id: str) -> int:
  """The total of `viewcounts query --video ID --json`, checking that every
  line is about exactly this id."""
  output = subprocess.run(
    [sys.executable, '-m', 'viewcounts', 'query', *cli_flags(resources),
     '--video', video_id, '--json'],
    check=True, capture_output=True, text=True).stdout  # fmt: skip
  rows = [json.loads(line) for line in output.splitlines()]
  assert rows, video_id
  assert {row['videoId'] for row in rows} == {video_id}
  return sum(row['views'] for row in rows)
