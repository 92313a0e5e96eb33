"""`python -m bench --quick` runs end to end and writes its results."""

import json

from bench import __main__ as bench


def test_a_quick_run_writes_the_table_json_and_chart(
  emulators, monkeypatch, tmp_path, capsys
):
  # Each case starts emulators of its own, as a user's run does.
  for name in emulators:
    monkeypatch.delenv(name)
  out = tmp_path / 'results'
  argv = ['--quick', '--cases', 'mutations,backfill', '--runs', '1']
  argv += ['--out', str(out), '--work-dir', str(tmp_path / 'work')]

  assert bench.main(argv) == 0

  table = (out / 'results.md').read_text()
  assert table == capsys.readouterr().out.rstrip('\n') + '\n'
  assert '## Bigtable mutations per 1,000 views' in table
  assert '## Backfill against a plain Python loop' in table
  figures = json.loads((out / 'results.json').read_text())
  per_view, pipeline = figures['mutations']
  # The per-view counter writes once per message; the pipeline's counts
  # are exact, and it wrote fewer rows than there were views.
  assert per_view['mutations'] == per_view['published']
  assert pipeline['accuracy']['exact']
  assert pipeline['mutations'] < pipeline['published']
  (backfill,) = figures['backfill']
  assert backfill['exact'] and backfill['views'] == 10_000
  assert (out / 'chart.png').read_bytes()[:4] == b'\x89PNG'
