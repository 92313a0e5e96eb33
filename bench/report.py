"""The benchmark's results as a Markdown table and a chart.

Every figure here is computed from the cases' own figures (bench/cases.py,
bench/backfill.py); nothing is typed in.
"""

import statistics
from collections.abc import Sequence
from typing import NamedTuple

from bench.backfill import BackfillFigures
from bench.cases import (
  PER_VIEW,
  PIPELINE,
  Accuracy,
  CrashFigures,
  LatencyFigures,
  StreamingFigures,
)

MUTATIONS_TARGET = 1.10  # at most 10% over the floor
THROUGHPUT_TARGET = 2000  # views/s
BACKFILL_TARGET = 4.0  # at most this many times the loop's time
# The hot_key case's runs, in order, and the pipeline flags of each.
HOT_KEY_RUNS = (
  ('without fanout', ()),
  ('--hot_key_fanout=4', ('--hot_key_fanout=4',)),
)


class Results(NamedTuple):
  """What one benchmark run measured; a case not run is empty."""

  command: str
  offered_views_per_sec: float = 0.0  # of the throughput and hot_key cases
  mutations: Sequence[StreamingFigures] = ()
  throughput: Sequence[StreamingFigures] = ()  # every run of each contender
  latency: Sequence[LatencyFigures] = ()
  crash: Sequence[CrashFigures] = ()
  hot_key: Sequence[StreamingFigures] = ()  # as in HOT_KEY_RUNS
  backfill: Sequence[BackfillFigures] = ()


def median_views_per_sec(runs: Sequence[StreamingFigures], who: str) -> float:
  return statistics.median(r.views_per_sec for r in runs if r.contender == who)


def markdown(results: Results) -> str:
  lines = [
    '# Benchmark: one write per view against pre-aggregation',
    '',
    f'Command: `{results.command}`',
    '',
  ]
  for section in (
    _mutations,
    _throughput,
    _latency,
    _crash,
    _hot_key,
    _backfill,
  ):
    lines += section(results)
  return '\n'.join(lines).rstrip('\n') + '\n'


def _mutations(results: Results) -> list[str]:
  if not results.mutations:
    return []
  lines = [
    '## Bigtable mutations per 1,000 views',
    '',
    '| contender | views | rows | late rows | mutations | per 1,000 views '
    '| floor per 1,000 | over the floor | exact |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ]
  for f in results.mutations:
    over = f.mutations_per_1000 / f.floor_per_1000 - 1
    lines.append(
      f'| {f.contender} | {f.published:,} | {f.rows:,} | {f.late_rows:,} '
      f'| {f.mutations:,} | {f.mutations_per_1000:.1f} '
      f'| {f.floor_per_1000:.1f} | {over:+.1%} | {_exact(f.accuracy)} |'
    )
  pipeline = _of(results.mutations, PIPELINE)
  if pipeline:
    ratio = pipeline.mutations_per_1000 / pipeline.floor_per_1000
    lines += [
      '',
      f'Target: within 10% of the floor. '
      f'{_verdict(ratio <= MUTATIONS_TARGET)}.',
    ]
  return lines + ['']


def _throughput(results: Results) -> list[str]:
  if not results.throughput:
    return []
  lines = [
    '## Sustained views per second, counts verified exact',
    '',
    f'Views offered at {results.offered_views_per_sec:,.0f} a second; '
    "each contender's rate is what it took while they were offered.",
    '',
    '| contender | runs | views/s, each run | median | all exact |',
    '| --- | ---: | --- | ---: | --- |',
  ]
  medians = {}
  for who in (PER_VIEW, PIPELINE):
    runs = [r for r in results.throughput if r.contender == who]
    if not runs:
      continue
    medians[who] = median_views_per_sec(runs, who)
    each = ', '.join(f'{r.views_per_sec:,.0f}' for r in runs)
    exact = all(r.accuracy.exact for r in runs)
    lines.append(
      f'| {who} | {len(runs)} | {each} | {medians[who]:,.0f} '
      f'| {"yes" if exact else "NO"} |'
    )
  if len(medians) == 2:
    ratio = medians[PIPELINE] / medians[PER_VIEW]
    met = medians[PIPELINE] >= THROUGHPUT_TARGET and ratio > 1
    lines += [
      '',
      f'The pipeline takes {ratio:.2f} times as many views a second as the '
      f'per-view counter. Target: at least {THROUGHPUT_TARGET:,} views/s, '
      f'ahead of the per-view counter. {_verdict(met)}.',
    ]
  return lines + ['']


def _latency(results: Results) -> list[str]:
  if not results.latency:
    return []
  lines = [
    '## Latency from publish to a count visible in Bigtable',
    '',
    '| contender | probes | seen | p50 (s) | p95 (s) |',
    '| --- | ---: | ---: | ---: | ---: |',
  ]
  for f in results.latency:
    lines.append(
      f'| {f.contender} | {f.probes} | {f.seen} | {f.p50_sec:.1f} '
      f'| {f.p95_sec:.1f} |'
    )
  return lines + ['']


def _crash(results: Results) -> list[str]:
  if not results.crash:
    return []
  lines = [
    '## Killed with -9 halfway, restarted as its README says',
    '',
    '| contender | views published | views lost | views double-counted '
    '| exact |',
    '| --- | ---: | ---: | ---: | --- |',
  ]
  for f in results.crash:
    lines.append(
      f'| {f.contender} | {f.published:,} | {f.accuracy.views_under:,} '
      f'| {f.accuracy.views_over:,} | {_exact(f.accuracy)} |'
    )
  return lines + ['']


def _hot_key(results: Results) -> list[str]:
  if not results.hot_key:
    return []
  lines = [
    '## A hot key: one video takes half of all views',
    '',
    '| pipeline | views | views/s | exact |',
    '| --- | ---: | ---: | --- |',
  ]
  for (label, _), f in zip(HOT_KEY_RUNS, results.hot_key, strict=False):
    lines.append(
      f'| {label} | {f.published:,} | {f.views_per_sec:,.0f} '
      f'| {_exact(f.accuracy)} |'
    )
  return lines + ['']


def _backfill(results: Results) -> list[str]:
  if not results.backfill:
    return []
  lines = [
    '## Backfill against a plain Python loop over the same archive',
    '',
    '| run | views | rows | loop (s) | backfill (s) | backfill views/s '
    '| times the loop | exact |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ]
  for run, f in enumerate(results.backfill, 1):
    lines.append(
      f'| {run} | {f.views:,} | {f.rows:,} | {f.loop_sec:.1f} '
      f'| {f.backfill_sec:.1f} | {f.views / f.backfill_sec:,.0f} '
      f'| {f.slowdown:.1f} | {"yes" if f.exact else "NO"} |'
    )
  slowdown = statistics.median(f.slowdown for f in results.backfill)
  lines += [
    '',
    f'Median: the backfill takes {slowdown:.1f} times as long as the loop. '
    f'Target: at most {BACKFILL_TARGET:g} times. '
    f'{_verdict(slowdown <= BACKFILL_TARGET)}.',
  ]
  return lines + ['']


def to_json(value):
  """Results as plain dicts and lists, NamedTuples all the way down."""
  if hasattr(value, '_asdict'):
    return {k: to_json(v) for k, v in value._asdict().items()}
  if isinstance(value, list | tuple):
    return [to_json(v) for v in value]
  return value


def from_json(data: dict) -> Results:
  """The Results that to_json made."""

  def streaming(d):
    return StreamingFigures(**{**d, 'accuracy': Accuracy(**d['accuracy'])})

  def crash(d):
    return CrashFigures(**{**d, 'accuracy': Accuracy(**d['accuracy'])})

  return Results(
    command=data['command'],
    offered_views_per_sec=data['offered_views_per_sec'],
    mutations=[streaming(d) for d in data['mutations']],
    throughput=[streaming(d) for d in data['throughput']],
    latency=[LatencyFigures(**d) for d in data['latency']],
    crash=[crash(d) for d in data['crash']],
    hot_key=[streaming(d) for d in data['hot_key']],
    backfill=[BackfillFigures(**d) for d in data['backfill']],
  )


def chart(results: Results, path: str) -> None:
  """One panel per case that ran, written to path as a PNG."""
  # Imported here: only a run that writes its results needs matplotlib.
  import matplotlib

  matplotlib.use('Agg')
  from matplotlib import pyplot

  panels = [
    panel
    for panel in (
      _mutations_panel(results),
      _throughput_panel(results),
      _latency_panel(results),
      _crash_panel(results),
      _hot_key_panel(results),
      _backfill_panel(results),
    )
    if panel
  ]
  columns = min(3, len(panels))
  rows = -(-len(panels) // columns)
  figure, axes = pyplot.subplots(
    rows, columns, figsize=(5 * columns, 4 * rows), squeeze=False
  )
  for ax, (title, labels, values, unit) in zip(axes.flat, panels, strict=False):
    bars = ax.bar(labels, values, color=['#999999', '#1f77b4', '#2ca02c'])
    ax.bar_label(bars, fmt='{:,.1f}')
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(unit)
    ax.tick_params(axis='x', labelsize=8)
  for ax in axes.flat[len(panels) :]:
    ax.axis('off')
  figure.tight_layout()
  figure.savefig(path, dpi=100)
  pyplot.close(figure)


def _mutations_panel(results):
  if not results.mutations:
    return None
  labels = [f.contender for f in results.mutations]
  values = [f.mutations_per_1000 for f in results.mutations]
  pipeline = _of(results.mutations, PIPELINE)
  if pipeline:
    labels.append('floor')
    values.append(pipeline.floor_per_1000)
  return 'Bigtable mutations per 1,000 views', labels, values, 'mutations'


def _throughput_panel(results):
  if not results.throughput:
    return None
  who = [w for w in (PER_VIEW, PIPELINE) if _of(results.throughput, w)]
  values = [median_views_per_sec(results.throughput, w) for w in who]
  return 'Views per second, median, exact', who, values, 'views/s'


def _latency_panel(results):
  if not results.latency:
    return None
  labels = [f.contender for f in results.latency]
  return (
    'Publish to visible count, p50',
    labels,
    [f.p50_sec for f in results.latency],
    'seconds',
  )


def _crash_panel(results):
  if not results.crash:
    return None
  labels = [f.contender for f in results.crash]
  values = [
    f.accuracy.views_under + f.accuracy.views_over for f in results.crash
  ]
  return 'Views lost or double-counted after kill -9', labels, values, 'views'


def _hot_key_panel(results):
  if not results.hot_key:
    return None
  labels = [label for label, _ in HOT_KEY_RUNS][: len(results.hot_key)]
  values = [f.views_per_sec for f in results.hot_key]
  return 'Hot key (half the views): views/s', labels, values, 'views/s'


def _backfill_panel(results):
  if not results.backfill:
    return None
  loop = statistics.median(f.views / f.loop_sec for f in results.backfill)
  beam = statistics.median(f.views / f.backfill_sec for f in results.backfill)
  return (
    'Backfill: views per second',
    ['Python loop', 'backfill'],
    [loop, beam],
    'views/s',
  )


def _of(figures, contender):
  return next((f for f in figures if f.contender == contender), None)


def _exact(accuracy) -> str:
  return 'yes' if accuracy.exact else 'NO'


def _verdict(met: bool) -> str:
  return 'Met' if met else 'Missed'
