"""Backfill: archived views counted in batch by the streaming transforms."""

import json
from types import SimpleNamespace

import apache_beam as beam
import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.util import assert_that, equal_to

from pipeline.backfill import build_backfill, dead_letter_json, progress
from pipeline.pipeline import accounting_summary
from transforms.parse import DeadLetter

LINES = [
  b'{"videoId": "v1", "eventTime": "2026-12-03T10:00:10Z", "eventId": "a"}',
  b'{"videoId": "v1", "eventTime": "2026-12-03T10:00:50Z", "eventId": "b"}',
  # A copy of "a": the archive holds a publisher's retry too.
  b'{"videoId": "v1", "eventTime": "2026-12-03T10:00:10Z", "eventId": "a"}',
  b'{"videoId": "v1", "eventTime": "2026-12-03T10:01:00Z"}',
  b'{"videoId": "a#b", "eventTime": 1796292005000}',
  # Malformed: no eventTime and no publish time to fall back on; not JSON;
  # not UTF-8; an empty line.
  b'{"videoId": "v1"}',
  b'{"videoId": ',
  b'\xff\xfe',
  b'',
]


class DescribeWindow(beam.DoFn):
  def process(self, video_count, w=beam.DoFn.WindowParam):
    video_id, views = video_count
    yield video_id, w.start.to_utc_datetime().strftime('%H:%M:%S'), views


@pytest.fixture
def archive(tmp_path):
  first, second = tmp_path / 'events-1.jsonl', tmp_path / 'events-2.jsonl'
  first.write_bytes(b'\n'.join(LINES[:4]) + b'\n')
  second.write_bytes(b'\n'.join(LINES[4:]) + b'\n')
  return str(tmp_path / 'events-*.jsonl')


def test_archived_views_are_counted_exactly_once_per_window(archive):
  p = beam.Pipeline(runner=FnApiRunner())
  outputs = build_backfill(p, [archive], 60, target=None)
  assert_that(
    outputs.counts | beam.ParDo(DescribeWindow()),
    equal_to(
      [('v1', '10:00:00', 2), ('v1', '10:01:00', 1), ('a#b', '10:00:00', 1)]
    ),
    label='Counts',
  )
  assert_that(
    outputs.dead_letters | beam.Map(lambda d: d.reason),
    equal_to(['bad event time', 'not JSON', 'not UTF-8', 'not JSON']),
    label='DeadLetters',
  )
  result = p.run()
  result.wait_until_finish()
  figures = accounting_summary(result)
  assert figures['views_read'] == len(LINES) == 9
  assert figures['views_counted'] == 4
  assert figures['views_duplicate'] == 1
  assert figures['views_malformed'] == 4
  assert figures['views_too_late'] == 0


def test_a_dead_letter_keeps_its_line_as_text_or_base64():
  text = json.loads(dead_letter_json(DeadLetter(b'{"x', {}, 'not JSON', 'd')))
  assert text == {'reason': 'not JSON', 'detail': 'd', 'data': '{"x'}
  binary = json.loads(
    dead_letter_json(DeadLetter(b'\xff', {}, 'not UTF-8', ''))
  )
  assert binary['data_base64'] == '/w=='


def test_a_file_longer_than_a_chunk_is_tallied_in_chunks(tmp_path, monkeypatch):
  # Chunks of 4 lines, progress every 2; a malformed line ends a chunk.
  monkeypatch.setattr('transforms.archive.CHUNK_LINES', 4)
  monkeypatch.setattr('transforms.archive.PROGRESS_LINES', 2)
  lines = [LINES[0], LINES[1], LINES[3], b'{"videoId": '] * 3 + [LINES[0]]
  path = tmp_path / 'events.jsonl'
  path.write_bytes(b'\n'.join(lines) + b'\n')
  shown = []
  monkeypatch.setattr(progress, 'bar', SimpleNamespace(update=shown.append))
  p = beam.Pipeline(runner=FnApiRunner())
  outputs = build_backfill(p, [str(path)], 60, target=None)
  # "a" appears four times and "b" three times: each counts once.
  assert_that(
    outputs.counts | beam.ParDo(DescribeWindow()),
    equal_to([('v1', '10:00:00', 2), ('v1', '10:01:00', 3)]),
  )
  result = p.run()
  result.wait_until_finish()
  figures = accounting_summary(result)
  assert figures['views_read'] == 13
  assert figures['views_malformed'] == 3
  assert figures['views_counted'] == 5
  assert figures['views_duplicate'] == 5
  # Every line reaches the progress bar, two at a time at most.
  assert sum(shown) == 13 and max(shown) == 2
