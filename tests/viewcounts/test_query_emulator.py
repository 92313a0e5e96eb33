"""query on the emulator: newest cell only, one video exactly, time ranges."""

import datetime
import json

import pytest

from tests.viewcounts.emulator_helpers import cli_flags, write_count
from transforms.schema import WindowCount
from viewcounts import cli, query

pytestmark = pytest.mark.emulator

T0 = datetime.datetime(2026, 12, 3, 18, 0, tzinfo=datetime.timezone.utc)
MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture
def table(provisioned):
  return provisioned.bigtable_table()


def test_a_smaller_count_written_later_does_not_win(provisioned, table, capsys):
  # A replay rewrites a window with a partial count after the full one.
  write_count(table, 'a', T0, 5)
  write_count(table, 'a', T0, 3)
  write_count(table, 'a', T0 + MINUTE, 2)
  write_count(table, 'a', T0 + MINUTE, 2)  # a repeated pane

  flags = cli_flags(provisioned)
  assert cli.main(['query', '--video', 'a', '--json', *flags]) == 0

  assert capsys.readouterr().out.splitlines() == [
    '{"videoId": "a", "windowStart": "2026-12-03T18:00:00Z", '
    '"windowEnd": "2026-12-03T18:01:00Z", "views": 5}',
    '{"videoId": "a", "windowStart": "2026-12-03T18:01:00Z", '
    '"windowEnd": "2026-12-03T18:02:00Z", "views": 2}',
  ]


AWKWARD = ['a', 'a#b', 'A', 'a%23b', '\U0001f3ac', 'caf\u00e9', 'cafe\u0301',
           ' a', 'a/b']  # fmt: skip


def test_ids_that_share_characters_never_see_each_others_rows(table):
  # Each id gets a distinct count: its position + 1.
  for views, video_id in enumerate(AWKWARD, start=1):
    write_count(table, video_id, T0, views)

  for views, video_id in enumerate(AWKWARD, start=1):
    assert query.read_video_counts(table, video_id) == [
      WindowCount(video_id, T0, 60, views)
    ], video_id
  assert query.read_video_counts(table, 'b') == []


def test_time_range_selects_windows_by_start(table):
  for minute in range(5):
    write_count(table, 'a', T0 + minute * MINUTE, minute + 1)
  write_count(table, 'a#b', T0 + 2 * MINUTE, 100)

  counts = query.read_video_counts(
    table, 'a', start=T0 + MINUTE, end=T0 + 3 * MINUTE
  )

  assert [(c.window_start, c.views) for c in counts] == [
    (T0 + MINUTE, 2),
    (T0 + 2 * MINUTE, 3),
  ]
  assert query.read_video_counts(table, 'a', start=T0 + 4 * MINUTE) == [
    WindowCount('a', T0 + 4 * MINUTE, 60, 5)
  ]
  assert query.read_video_counts(table, 'a', T0 + MINUTE, T0) == []


def test_text_output_has_windows_and_total(provisioned, table, capsys):
  write_count(table, 'a b', T0, 4)
  write_count(table, 'a b', T0 + MINUTE, 6)

  assert cli.main(['query', '--video', 'a b', *cli_flags(provisioned)]) == 0

  assert capsys.readouterr().out.splitlines() == [
    'videoId "a b"',
    '2026-12-03T18:00:00Z  2026-12-03T18:01:00Z           4',
    '2026-12-03T18:01:00Z  2026-12-03T18:02:00Z           6',
    'total 10 views in 2 windows',
  ]


def test_read_all_and_top(provisioned, table, capsys):
  write_count(table, 'a', T0, 5)
  write_count(table, 'a', T0 + MINUTE, 5)
  write_count(table, 'A', T0, 7)
  write_count(table, 'a#b', T0, 1)
  foreign = table.direct_row(b'not-a-count-row')
  foreign.set_cell('views', b'count', b'1')
  foreign.commit()

  counts = query.read_all_counts(table)

  assert len(counts) == 4
  assert query.top_videos(counts, 2) == [('a', 10), ('A', 7)]
  assert cli.main(['top', '-n', '2', *cli_flags(provisioned)]) == 0
  lines = capsys.readouterr().out.splitlines()
  assert [json.loads(line.split(None, 2)[2]) for line in lines] == ['a', 'A']
