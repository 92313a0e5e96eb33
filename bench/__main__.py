"""python -m bench: one write per view against this pipeline, side by side.

Runs each case against freshly started emulators, on this machine, with the
same synthetic input for both contenders, and prints the results table;
with --out it also writes results.md, results.json and chart.png there.

    python -m bench --out bench/results           # the full run, ~50 min
    python -m bench --quick --cases mutations     # a smoke run, ~2 min
    python -m bench --render bench/results        # table and chart again

Cases: mutations (Bigtable mutations per 1,000 views), throughput (views/s
taken from a stream offered faster, counts exact), latency (publish to
visible count),
crash (kill -9 halfway, restart), hot_key (one video takes half the
views), backfill (batch recount against a plain loop).
"""

import argparse
import dataclasses
import json
import logging
import os
import shlex
import sys
import tempfile

from bench import backfill, cases, report
from bench.cases import PER_VIEW, PIPELINE, Workload

_LOGGER = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Sizes:
  """How much each case does; --quick shrinks everything."""

  standard: Workload  # the workload of the mutations case
  pace_views_per_sec: float  # how fast the mutations case publishes
  offered_views_per_sec: float  # how fast the throughput cases publish
  throughput_views: int
  latency_views_per_sec: float
  latency_sec: float
  crash_views: int
  crash_views_per_sec: float
  backfill_views: int


FULL = Sizes(
  standard=Workload(views=100_000, videos=5_000),
  pace_views_per_sec=1000,
  offered_views_per_sec=report.THROUGHPUT_TARGET,
  throughput_views=60_000,
  latency_views_per_sec=200,
  latency_sec=90,
  crash_views=20_000,
  crash_views_per_sec=400,
  backfill_views=1_000_000,
)
QUICK = Sizes(
  standard=Workload(views=1_000, videos=100, window_size_sec=10),
  pace_views_per_sec=500,
  offered_views_per_sec=500,
  throughput_views=1_000,
  latency_views_per_sec=50,
  latency_sec=5,
  crash_views=400,
  crash_views_per_sec=100,
  backfill_views=10_000,
)


def run(args: argparse.Namespace) -> report.Results:
  sizes = QUICK if args.quick else FULL
  work_dir = args.work_dir or tempfile.mkdtemp(prefix='viewcounts-bench-')
  results = report.Results(
    command=args.command, offered_views_per_sec=sizes.offered_views_per_sec
  )

  def case_dir(name: str) -> str:
    path = os.path.join(work_dir, name)
    os.makedirs(path, exist_ok=True)
    return path

  for name in args.cases:
    _LOGGER.info('Case %s', name)
    figures = MEASURES[name](sizes, args, case_dir(name))
    results = results._replace(**{name: figures})
  return results


def _mutations(sizes, args, work_dir):
  return [
    cases.run_streaming(
      who, sizes.standard, sizes.pace_views_per_sec, f'{work_dir}/{i}'
    )
    for i, who in enumerate((PER_VIEW, PIPELINE))
  ]


def _throughput(sizes, args, work_dir):
  stream = sizes.standard._replace(views=sizes.throughput_views)
  rate = sizes.offered_views_per_sec
  return [
    cases.run_streaming(who, stream, rate, f'{work_dir}/{who}-{run}')
    for run in range(args.runs)
    for who in (PER_VIEW, PIPELINE)
  ]


def _latency(sizes, args, work_dir):
  rate = sizes.latency_views_per_sec
  load = sizes.standard._replace(views=int(rate * sizes.latency_sec))
  early = '--early_firing_sec=5'
  return [
    cases.run_latency(PER_VIEW, load, rate, f'{work_dir}/per-view'),
    cases.run_latency(PIPELINE, load, rate, f'{work_dir}/pipeline'),
    cases.run_latency(
      PIPELINE, load, rate, f'{work_dir}/early', [early]
    )._replace(contender='pipeline, early firing 5 s'),
  ]


def _crash(sizes, args, work_dir):
  # No duplicates in the input: whatever is counted twice, the crash did.
  load = sizes.standard._replace(
    views=sizes.crash_views, duplicate_fraction=0.0
  )
  return [
    cases.run_crash(who, load, sizes.crash_views_per_sec, f'{work_dir}/{i}')
    for i, who in enumerate((PER_VIEW, PIPELINE))
  ]


def _hot_key(sizes, args, work_dir):
  stream = sizes.standard._replace(views=sizes.throughput_views, hot_share=0.5)
  rate = sizes.offered_views_per_sec
  return [
    cases.run_streaming(PIPELINE, stream, rate, f'{work_dir}/{i}', flags)
    for i, (_, flags) in enumerate(report.HOT_KEY_RUNS)
  ]


def _backfill(sizes, args, work_dir):
  archive = os.path.join(work_dir, 'views.jsonl')
  backfill.write_archive(archive, sizes.backfill_views, videos=5_000)
  window = sizes.standard.window_size_sec
  return [
    backfill.compare(archive, sizes.backfill_views, window, work_dir)
    for _ in range(args.runs)
  ]


MEASURES = {
  'mutations': _mutations,
  'throughput': _throughput,
  'latency': _latency,
  'crash': _crash,
  'hot_key': _hot_key,
  'backfill': _backfill,
}
CASES = tuple(MEASURES)


def write_results(results: report.Results, out_dir: str) -> None:
  os.makedirs(out_dir, exist_ok=True)
  with open(os.path.join(out_dir, 'results.json'), 'w') as out:
    json.dump(report.to_json(results), out, indent=1)
  render(out_dir)


def render(out_dir: str) -> report.Results:
  """(Re)writes results.md and chart.png from out_dir's results.json."""
  with open(os.path.join(out_dir, 'results.json')) as saved:
    results = report.from_json(json.load(saved))
  with open(os.path.join(out_dir, 'results.md'), 'w') as out:
    out.write(report.markdown(results))
  report.chart(results, os.path.join(out_dir, 'chart.png'))
  return results


def main(argv: list[str] | None = None) -> int:
  argv = sys.argv[1:] if argv is None else argv
  parser = argparse.ArgumentParser(
    prog='python -m bench', description=__doc__.splitlines()[0]
  )
  parser.add_argument(
    '--cases',
    type=lambda text: text.split(','),
    default=list(CASES),
    help=f'comma-separated, of {", ".join(CASES)} (default: all)',
  )
  parser.add_argument(
    '--runs',
    type=int,
    default=3,
    help='runs of the throughput and backfill cases, whose median is '
    'quoted (default: %(default)s)',
  )
  parser.add_argument(
    '--quick', action='store_true', help='tiny inputs, to check it runs'
  )
  parser.add_argument('--out', help='directory for the results files')
  parser.add_argument('--work-dir', help='for logs (default: a temp dir)')
  parser.add_argument(
    '--render',
    metavar='DIR',
    help='run nothing: rewrite DIR/results.md and chart.png from '
    'DIR/results.json',
  )
  args = parser.parse_args(argv)
  if args.render:
    print(report.markdown(render(args.render)))
    return 0
  unknown = set(args.cases) - set(CASES)
  if unknown:
    parser.error(f'unknown case(s): {", ".join(sorted(unknown))}')
  if args.runs < 1:
    parser.error('--runs must be at least 1')
  args.command = shlex.join(['python', '-m', 'bench', *argv])
  logging.basicConfig(
    level=logging.INFO, format='%(asctime)s %(levelname)s %(name)s: %(message)s'
  )
  results = run(args)
  print(report.markdown(results))
  if args.out:
    write_results(results, args.out)
    _LOGGER.info('Results in %s', args.out)
  return 0


if __name__ == '__main__':
  sys.exit(main())
