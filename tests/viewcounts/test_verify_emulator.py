"""verify on the emulator: exit 0 only on an exact match."""

import datetime

import pytest

from tests.viewcounts.emulator_helpers import cli_flags, write_count
from transforms.schema import WindowCount
from viewcounts import cli, jsonl

pytestmark = pytest.mark.emulator

T0 = datetime.datetime(2026, 12, 3, 18, 0, tzinfo=datetime.timezone.utc)
T1 = T0 + datetime.timedelta(minutes=1)
TRUTH = [
  WindowCount('a', T0, 60, 3),
  WindowCount('a', T1, 60, 1),
  WindowCount('\U0001f3ac', T0, 60, 2),
]


@pytest.fixture
def truth_file(tmp_path):
  path = str(tmp_path / 'truth.jsonl')
  jsonl.write_file(TRUTH, path)
  return path


def _verify(resources, truth_file) -> int:
  return cli.main(['verify', '--truth', truth_file, *cli_flags(resources)])


def test_exact_match_exits_zero(provisioned, truth_file, capsys):
  table = provisioned.bigtable_table()
  for count in TRUTH:
    write_count(table, count.video_id, count.window_start, count.views)

  assert _verify(provisioned, truth_file) == 0

  assert capsys.readouterr().out.splitlines() == [
    'exact: 3 windows match, 0 missing, 0 wrong, 0 unexpected'
  ]


def test_mismatches_are_listed_and_exit_one(provisioned, truth_file, capsys):
  table = provisioned.bigtable_table()
  write_count(table, 'a', T0, 3)
  write_count(table, 'a', T1, 2)  # one view too many
  write_count(table, 'A', T0, 2)  # not in the truth; the emoji is missing

  assert _verify(provisioned, truth_file) == 1

  assert capsys.readouterr().out.splitlines() == [
    'missing: videoId "\\ud83c\\udfac" window '
    '2026-12-03T18:00:00Z/2026-12-03T18:01:00Z expected 2',
    'wrong count: videoId "a" window 2026-12-03T18:01:00Z/'
    '2026-12-03T18:02:00Z expected 1, stored 2',
    'unexpected: videoId "A" window 2026-12-03T18:00:00Z/'
    '2026-12-03T18:01:00Z stored 2',
    'MISMATCH: 1 windows match, 1 missing, 1 wrong, 1 unexpected',
  ]


def test_empty_table_against_truth_exits_one(provisioned, truth_file, capsys):
  assert _verify(provisioned, truth_file) == 1
  assert capsys.readouterr().out.splitlines()[-1] == (
    'MISMATCH: 0 windows match, 3 missing, 0 wrong, 0 unexpected'
  )


def test_unreadable_truth_is_an_error_not_a_pass(provisioned, tmp_path, capsys):
  bad = tmp_path / 'truth.jsonl'
  bad.write_text('{"videoId": "a"}\n', encoding='utf-8')

  assert _verify(provisioned, str(bad)) == 1
  assert 'truth.jsonl:1' in capsys.readouterr().err
