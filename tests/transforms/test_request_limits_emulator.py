"""CASES C13: 150,000 distinct rows in one pipeline all land in Bigtable.

Bigtable refuses a MutateRows request of more than 100,000 mutations; the
emulator does not, so tests/transforms/test_bigtable.py checks the flush
settings and this test checks the other half: that a bundle far larger
than one flush is written in full, none dropped between flushes.
"""

import datetime
import time

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.transforms.window import FixedWindows, TimestampedValue
from apache_beam.utils.timestamp import Timestamp
from google.cloud.bigtable import row_filters

from pipeline.pipeline import LOCAL_RUNNER
from transforms import schema
from transforms.bigtable import WriteCountsToBigtable

pytestmark = pytest.mark.emulator

ROWS = 150_000
VIDEOS = 1_500
WINDOW_SEC = 60
# ROWS / VIDEOS = 100 windows of 60 s from 10:00.
W10_00 = datetime.datetime(2026, 12, 3, 10, 0, tzinfo=datetime.UTC)


def _pane(i: int) -> TimestampedValue:
  """Row i: video i mod 1,500 in window i // 1,500, count 1."""
  window_start = Timestamp.from_utc_datetime(W10_00) + (
    i // VIDEOS * WINDOW_SEC
  )
  return TimestampedValue((f'v{i % VIDEOS:04d}', 1), window_start + 30)


def count_rows(table) -> int:
  """Rows in the table, read keys only (first cell, value stripped)."""
  keys_only = row_filters.RowFilterChain(
    filters=[
      row_filters.CellsRowLimitFilter(1),
      row_filters.StripValueTransformerFilter(True),
    ]
  )
  return sum(1 for _ in table.read_rows(filter_=keys_only))


def test_c13_150000_rows_in_one_pipeline_all_land(provisioned, record_property):
  p = TestPipeline(runner=LOCAL_RUNNER)
  _ = (
    p
    | 'Rows' >> beam.Create(range(ROWS))
    | 'AsPanes' >> beam.Map(_pane)
    | 'Window' >> beam.WindowInto(FixedWindows(WINDOW_SEC))
    | 'WriteCountsToBigtable'
    >> WriteCountsToBigtable(
      provisioned.project, provisioned.instance, provisioned.table
    )
  )
  started = time.monotonic()
  p.run().wait_until_finish()
  elapsed_sec = time.monotonic() - started

  # Reported, not asserted: how long this takes is for a person to judge.
  record_property('c13_write_sec', f'{elapsed_sec:.1f}')
  print(f'\nC13: {ROWS} rows written in {elapsed_sec:.1f}s')
  table = provisioned.bigtable_table()
  assert count_rows(table) == ROWS
  # Spot checks at both ends: the right key, count 1.
  first = table.read_row(schema.row_key('v0000', W10_00, WINDOW_SEC))
  last_start = W10_00 + datetime.timedelta(minutes=ROWS // VIDEOS - 1)
  last = table.read_row(schema.row_key('v1499', last_start, WINDOW_SEC))
  for row in (first, last):
    cell = row.cells[schema.COLUMN_FAMILY][schema.COUNT_COLUMN][0]
    assert schema.decode_count(cell.value) == 1
