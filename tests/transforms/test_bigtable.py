"""Counts to Bigtable rows, and the batch limits of the write (CASES C13)."""

import datetime

import apache_beam as beam
from apache_beam.io.gcp.bigtableio import WriteToBigTable, _BigTableWriteFn
from apache_beam.pipeline import PipelineVisitor
from apache_beam.transforms.window import IntervalWindow
from apache_beam.utils.timestamp import Timestamp
from google.cloud.bigtable.row import DirectRow

from transforms import bigtable, schema

W10_00 = datetime.datetime(2026, 12, 3, 10, 0, 0, tzinfo=datetime.UTC)
# Bigtable refuses a MutateRows request with more mutations than this,
# counted per cell: https://cloud.google.com/bigtable/quotas#limits-operations
MUTATE_ROWS_MUTATION_LIMIT = 100_000


def _mutations(row: DirectRow):
  """The row's mutations as the protobufs sent to Bigtable."""
  return row._get_mutation_pbs()


def test_a_count_becomes_one_cell_in_one_row():
  row = bigtable.count_row(schema.WindowCount('v1', W10_00, 60, 3))
  assert isinstance(row, DirectRow)
  assert row.row_key == b'v1#2026-12-03T10:00:00Z#60s'
  [mutation] = _mutations(row)
  cell = mutation.set_cell
  assert cell.family_name == 'views'
  assert cell.column_qualifier == b'count'
  assert cell.value == b'\x00\x00\x00\x00\x00\x00\x00\x03'
  # The count is the version: 3 views -> 3 ms -> 3,000 µs.
  assert cell.timestamp_micros == 3_000


def test_each_cell_carries_its_count_as_its_version():
  for views in (1, 2, 999, 1_000, 123_456_789):
    row = bigtable.count_row(schema.WindowCount('v1', W10_00, 60, views))
    [mutation] = _mutations(row)
    assert mutation.set_cell.timestamp_micros == views * 1000
    assert schema.decode_count(mutation.set_cell.value) == views


def test_the_row_key_is_the_schema_key():
  count = schema.WindowCount('a#b \U0001f600', W10_00, 300, 1)
  row = bigtable.count_row(count)
  assert row.row_key == schema.row_key('a#b \U0001f600', W10_00, 300)


def test_a_pane_becomes_the_row_of_its_window():
  # The DoFn called directly, with the window a pane of W10:00 (60 s) has.
  start = Timestamp.from_utc_datetime(W10_00)
  pane_window = IntervalWindow(start, start + 60)
  fn = bigtable._ToCountRowFn()
  fn.setup()
  [row] = fn.process(('v1', 3), pane_window=pane_window)
  assert row.row_key == b'v1#2026-12-03T10:00:00Z#60s'
  [mutation] = _mutations(row)
  assert schema.decode_count(mutation.set_cell.value) == 3


class _FindBigtableWrites(PipelineVisitor):
  def __init__(self):
    self.write_transforms = []
    self.write_fns = []

  def enter_composite_transform(self, node):
    self.visit_transform(node)

  def visit_transform(self, node):
    if isinstance(node.transform, WriteToBigTable):
      self.write_transforms.append(node.transform)
    fn = getattr(node.transform, 'fn', None)
    if isinstance(fn, _BigTableWriteFn):
      self.write_fns.append(fn)


def _built_write():
  p = beam.Pipeline()
  _ = (
    p
    | beam.Create([('v1', 1)])
    | 'WriteCountsToBigtable'
    >> bigtable.WriteCountsToBigtable('project', 'instance', 'table')
  )
  finder = _FindBigtableWrites()
  p.visit(finder)
  return finder


def test_c13_a_flush_stays_under_the_mutate_rows_limit():
  # What reaches the worker is the DoFn's options: check the flush count
  # there, times the mutations one count row really carries.
  finder = _built_write()
  [write_fn] = finder.write_fns
  flush_rows = write_fn.beam_options['flush_count']
  row = bigtable.count_row(schema.WindowCount('v1', W10_00, 60, 1))
  mutations_per_row = len(_mutations(row))
  assert mutations_per_row == 1
  assert flush_rows * mutations_per_row <= MUTATE_ROWS_MUTATION_LIMIT


def test_c13_the_write_uses_the_module_flush_settings():
  finder = _built_write()
  [write] = finder.write_transforms
  assert write._flush_count == bigtable.FLUSH_ROWS
  assert write._max_row_bytes == bigtable.FLUSH_BYTES
  [write_fn] = finder.write_fns
  assert write_fn.beam_options == {
    'project_id': 'project',
    'instance_id': 'instance',
    'table_id': 'table',
    'flush_count': bigtable.FLUSH_ROWS,
    'max_row_bytes': bigtable.FLUSH_BYTES,
  }
