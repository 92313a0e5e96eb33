"""The README's one-line `cbt` command reads a video's counts as numbers."""

import datetime
import os
import pathlib
import shutil
import subprocess

import pytest

from transforms import schema
from transforms.bigtable import count_row

REPO = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.skipif(
  shutil.which('cbt') is None, reason='cbt (Cloud SDK) is not installed'
)
def test_cbt_reads_the_highest_count_of_a_video(provisioned):
  table = provisioned.bigtable_table()
  start = datetime.datetime(2026, 12, 3, 18, 0, tzinfo=datetime.UTC)
  # A replay writes a smaller partial count after the full one.
  for views in (5, 3):
    table.mutate_rows([count_row(schema.WindowCount('a#b', start, 60, views))])
  table.mutate_rows([count_row(schema.WindowCount('a', start, 60, 9))])

  output = subprocess.run(
    ['cbt', f'-project={provisioned.project}',
     f'-instance={provisioned.instance}', 'read', provisioned.table,
     'prefix=a%23b#', 'cells-per-column=1',
     f'format-file={REPO / "cbt-format.yaml"}'],
    check=True, capture_output=True, text=True, env=os.environ,
  ).stdout  # fmt: skip

  assert 'a%23b#2026-12-03T18:00:00Z#60s' in output
  values = [line.strip() for line in output.splitlines()]
  assert [value for value in values if value.isdigit()] == ['5']
  assert 'a#2026' not in output  # video 'a' is a different range
