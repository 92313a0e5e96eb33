"""The JSON-lines shape shared by `query --json` and `publish --truth`."""

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transforms.schema import WindowCount
from viewcounts import jsonl

T0 = datetime.datetime(2026, 12, 3, 18, 0, tzinfo=datetime.timezone.utc)


def test_line_shape():
  line = jsonl.to_json(WindowCount('a#b \U0001f3ac', T0, 60, 42))

  assert line == (
    '{"videoId": "a#b \U0001f3ac", "windowStart": "2026-12-03T18:00:00Z", '
    '"windowEnd": "2026-12-03T18:01:00Z", "views": 42}'
  )


@given(
  video_id=st.text(
    st.characters(blacklist_categories=('Cs',)), min_size=1, max_size=50
  ),
  minutes=st.integers(0, 10_000_000),
  size=st.integers(1, 86_400),
  views=st.integers(0, 2**63 - 1),
)
def test_round_trip(video_id, minutes, size, views):
  count = WindowCount(
    video_id, T0 + datetime.timedelta(minutes=minutes), size, views
  )

  assert jsonl.from_json(jsonl.to_json(count)) == count


def test_file_round_trip(tmp_path):
  counts = [WindowCount('a', T0, 60, 1), WindowCount('A', T0, 300, 2)]
  path = str(tmp_path / 'truth.jsonl')

  jsonl.write_file(counts, path)

  assert jsonl.read_file(path) == counts


@pytest.mark.parametrize(
  'line',
  [
    '{"videoId": "a", "windowStart": "2026-12-03T18:00:00Z"}',
    '{"videoId": "a", "windowStart": "2026-12-03T18:00:00Z", '
    '"windowEnd": "2026-12-03T18:00:00Z", "views": 1}',
    '{"videoId": "a", "windowStart": "2026-12-03T18:00:00Z", '
    '"windowEnd": "2026-12-03T18:01:00Z", "views": "1"}',
    '{"videoId": 7, "windowStart": "2026-12-03T18:00:00Z", '
    '"windowEnd": "2026-12-03T18:01:00Z", "views": 1}',
    'not json',
  ],
)
def test_bad_lines_are_reported_with_file_and_line(tmp_path, line):
  path = tmp_path / 'truth.jsonl'
  path.write_text(line + '\n', encoding='utf-8')

  with pytest.raises(ValueError, match='truth.jsonl:1: '):
    jsonl.read_file(str(path))
