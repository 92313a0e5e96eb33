"""`viewcounts backfill` against the Bigtable emulator, as a user runs it.

The streaming job already wrote two windows: one with more views than the
archive holds (it saw views the archive missed) and one with fewer (it
lost some). The backfill keeps the larger count of each, adds the windows
the streaming job never wrote, and a second run changes nothing.
"""

import datetime
import json

import pytest

from tests.viewcounts.emulator_helpers import cli_flags, write_count
from viewcounts import cli, query

pytestmark = pytest.mark.emulator

UTC = datetime.UTC
W10_00 = datetime.datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
W10_01 = datetime.datetime(2026, 12, 3, 10, 1, tzinfo=UTC)


def view(video_id: str, event_time: str, event_id: str) -> str:
  return json.dumps(
    {'videoId': video_id, 'eventTime': event_time, 'eventId': event_id}
  )


def test_backfill_writes_the_streaming_rows_and_keeps_the_larger_count(
  provisioned, tmp_path, capsys
):
  table = provisioned.bigtable_table()
  write_count(table, 'v1', W10_00, 9)  # more than the archive's 3
  write_count(table, 'v2', W10_00, 1)  # fewer than the archive's 2
  lines = [
    view('v1', '2026-12-03T10:00:01Z', 'a'),
    view('v1', '2026-12-03T10:00:02Z', 'b'),
    view('v1', '2026-12-03T10:00:03Z', 'c'),
    view('v1', '2026-12-03T10:00:03Z', 'c'),  # a retry
    view('v2', '2026-12-03T10:00:04Z', 'd'),
    view('v2', '2026-12-03T10:00:05Z', 'e'),
    view('a#b', '2026-12-03T10:01:30Z', 'f'),
    '{"videoId": "v1"}',  # no eventTime
  ]
  (tmp_path / 'events-1.jsonl').write_text('\n'.join(lines) + '\n')
  dead = tmp_path / 'dead'
  argv = [
    'backfill',
    '--input',
    str(tmp_path / 'events-*.jsonl'),
    '--dead-letters',
    str(dead),
    *cli_flags(provisioned),
  ]

  for _ in range(2):
    assert cli.main(argv) == 0
    output = capsys.readouterr().out
    assert 'Every line accounted for: yes' in output
    stored = {
      (c.video_id, c.window_start): c.views
      for c in query.read_all_counts(table)
    }
    assert stored == {
      ('v1', W10_00): 9,
      ('v2', W10_00): 2,
      ('a#b', W10_01): 1,
    }

  figures = dict(
    line.split() for line in output.splitlines() if line.startswith('  ')
  )
  assert figures['views_read'] == '8'
  assert figures['views_counted'] == '6'
  assert figures['views_duplicate'] == '1'
  assert figures['views_malformed'] == '1'
  (dead_file,) = tmp_path.glob('dead*')
  (record,) = map(json.loads, dead_file.read_text().splitlines())
  assert record['reason'] == 'bad event time'
  assert record['data'] == '{"videoId": "v1"}'
