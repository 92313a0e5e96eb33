"""Soak: the local pipeline at a steady rate for a long time, memory sampled.

    .venv/bin/python -m bench.soak --minutes 20 --out bench/results/soak.md

Publishes synthetic views (Zipf-skewed, some late, some sent twice) to the
local emulators, samples the pipeline process's resident memory every
--sample-sec, then waits for the last windows, verifies Bigtable against
the exact truth and writes a Markdown table of memory over time.

On Dataflow a window's state is freed once the watermark passes its end plus
the allowed lateness. Beam 2.77's Python DirectRunner frees a GroupByKey
window only when its trigger finishes, and a trigger with late firings never
does (``_output`` in apache_beam/transforms/trigger.py), so locally memory
grows with every (video, window) counted. The report gives that growth per
thousand views, which is what a long local run costs.
"""

import argparse
import logging
import os
import sys
import time

from viewcounts import emulators, local_run, provision, publish, truth, verify
from viewcounts.resources import Resources

_LOGGER = logging.getLogger(__name__)


def resident_mib(pid: int) -> float:
  """Resident memory of a process and its children, in MiB."""
  total_kib = 0
  for child in [pid, *_children(pid)]:
    with open(f'/proc/{child}/status') as status:
      for line in status:
        if line.startswith('VmRSS:'):
          total_kib += int(line.split()[1])
  return total_kib / 1024


def _children(pid: int) -> list[int]:
  try:
    with open(f'/proc/{pid}/task/{pid}/children') as children:
      direct = [int(c) for c in children.read().split()]
  except FileNotFoundError:
    return []
  return direct + [g for c in direct for g in _children(c)]


def soak(args: argparse.Namespace, resources: Resources) -> str:
  provision.provision(resources)
  flags = [f'--allowed_lateness_sec={args.allowed_lateness_sec}']
  samples, truths, published = [], [], 0
  started = time.monotonic()
  with local_run.running_pipeline(
    resources,
    os.path.join(args.work_dir, 'soak-pipeline.log'),
    args.window_size_sec,
    flags,
  ) as pipeline:
    for chunk in range(round(args.minutes * 60 / args.sample_sec)):
      result = publish.publish_synthetic(
        resources.topic_path,
        rate=args.rate,
        duration_sec=args.sample_sec,
        videos=args.videos,
        late_fraction=args.late_fraction,
        duplicate_fraction=args.duplicate_fraction,
        seed=chunk,
        window_size_sec=args.window_size_sec,
      )
      truths.append(result.truth)
      published += result.published
      pipeline.check_alive()
      elapsed = time.monotonic() - started
      samples.append((elapsed, published, resident_mib(pipeline.pid)))
      _LOGGER.info(
        '%5.1f min: %d views published, pipeline %.0f MiB',
        elapsed / 60,
        published,
        samples[-1][2],
      )
    expected = truth.merge(*truths)
    comparison = local_run.wait_for_counts(
      resources,
      expected,
      pipeline,
      local_run.close_wait_sec(args.window_size_sec),
    )
    figures = pipeline.stop()
  return _report(args, samples, expected, comparison, figures, published)


def _report(args, samples, expected, comparison, figures, published) -> str:
  window_life_min = (args.window_size_sec + args.allowed_lateness_sec) / 60
  rows = '\n'.join(
    f'| {t / 60:5.1f} | {n:>9,} | {mib:7.0f} |' for t, n, mib in samples
  )
  settled = [mib for t, _, mib in samples if t / 60 > 2 * window_life_min]
  settled_views = [n for t, n, _ in samples if t / 60 > 2 * window_life_min]
  growth = (
    f'{settled[-1] - settled[0]:+.0f} MiB from minute '
    f'{2 * window_life_min:.0f} to the end, '
    f'{_kib_per_thousand(settled, settled_views):.0f} KiB per 1,000 views'
    if len(settled) > 1
    else 'the run was too short to settle'
  )
  outcomes = ', '.join(f'{name} {value:,}' for name, value in figures.items())
  return f"""# Soak run

Command: `.venv/bin/python -m bench.soak {' '.join(sys.argv[1:])}`

{args.minutes} minutes at {args.rate:g} views/s over {args.videos} videos,
{args.window_size_sec} s windows, {args.allowed_lateness_sec} s allowed
lateness, {args.late_fraction:.0%} late views, {args.duplicate_fraction:.0%}
sent twice. A window's state lives about {window_life_min:.0f} minutes.

- Views published: {published:,} into {len(expected):,} (video, window) rows.
- Verified: {'exact' if comparison.exact else 'MISMATCH'}
  ({verify.describe(comparison)[-1]}).
- Pipeline counters: {outcomes}.
- Memory: {samples[0][2]:.0f} MiB at the first sample, {samples[-1][2]:.0f}
  MiB at the last; {growth}.

| minute | views published | pipeline RSS (MiB) |
| ---: | ---: | ---: |
{rows}
"""


def _kib_per_thousand(mib: list[float], views: list[int]) -> float:
  return (mib[-1] - mib[0]) * 1024 / max(views[-1] - views[0], 1) * 1000


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--minutes', type=float, default=20)
  parser.add_argument('--rate', type=float, default=40)
  parser.add_argument('--videos', type=int, default=2000)
  parser.add_argument('--window-size-sec', type=int, default=60)
  parser.add_argument('--allowed-lateness-sec', type=int, default=120)
  parser.add_argument('--late-fraction', type=float, default=0.02)
  parser.add_argument('--duplicate-fraction', type=float, default=0.01)
  parser.add_argument('--sample-sec', type=float, default=30)
  parser.add_argument('--work-dir', default='.local_run')
  parser.add_argument('--out', help='write the Markdown report here too')
  args = parser.parse_args()
  logging.basicConfig(
    level=logging.INFO, format='%(asctime)s %(levelname)s %(message)s'
  )
  os.makedirs(args.work_dir, exist_ok=True)
  with emulators.running_emulators(
    log_dir=os.path.join(args.work_dir, 'emulators')
  ) as env:
    os.environ.update(env)
    report = soak(args, Resources())
  print(report)
  if args.out:
    with open(args.out, 'w') as out:
      out.write(report)
  return 0 if 'exact' in report.split('Verified: ')[1][:6] else 1


if __name__ == '__main__':
  sys.exit(main())
