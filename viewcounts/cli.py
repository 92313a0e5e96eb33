"""The `viewcounts` command: everything around the pipeline.

    viewcounts provision
    viewcounts publish --rate 200 --duration 60 --truth truth.jsonl
    viewcounts publish --from-file messages.jsonl
    viewcounts query --video 'a#b' --json
    viewcounts verify --truth truth.jsonl
    viewcounts top -n 10
    viewcounts backfill --input 'archive/events-*.jsonl'
    viewcounts emulators --env-file emulators.env

The resource flags name the same resources in every subcommand. With
PUBSUB_EMULATOR_HOST and BIGTABLE_EMULATOR_HOST set, the clients talk to the
emulators instead of Google Cloud.
"""

import argparse
import datetime
import json
import logging
import os
import signal
import sys
import tempfile
import time
import warnings

from google.api_core import exceptions
from google.auth import exceptions as auth_exceptions

from transforms import schema
from viewcounts import (
  emulators,
  jsonl,
  messages,
  provision,
  publish,
  query,
  resources,
  times,
  truth,
  verify,
)

_LOGGER = logging.getLogger(__name__)

# Errors that come from the outside world (input, network, configuration)
# and deserve a one-line message rather than a traceback.
_USER_ERRORS = (
  exceptions.GoogleAPICallError,
  auth_exceptions.DefaultCredentialsError,
  emulators.EmulatorError,
  provision.ProvisionError,
  OSError,
  ValueError,
)
_TOP_ID_CHARS = 80


def main(argv: list[str] | None = None) -> int:
  args = build_parser().parse_args(argv)
  logging.basicConfig(
    level=logging.WARNING - 10 * args.verbose,
    format='%(asctime)s %(levelname)s %(name)s: %(message)s',
  )
  # The Bigtable client warns on every start that it uses the emulator; the
  # environment already says so, and the warning would clutter the output.
  warnings.filterwarnings(
    'ignore', message='Connecting to Bigtable emulator', category=RuntimeWarning
  )
  try:
    return args.run(args)
  except _USER_ERRORS as error:
    _LOGGER.debug('%s failed', args.command, exc_info=True)
    print(f'viewcounts {args.command}: error: {error}', file=sys.stderr)
    return 1


def build_parser() -> argparse.ArgumentParser:
  verbosity = argparse.ArgumentParser(add_help=False)
  verbosity.add_argument(
    '-v',
    '--verbose',
    action='count',
    default=0,
    help='-v logs progress, -vv also debug details and tracebacks',
  )
  common = argparse.ArgumentParser(add_help=False, parents=[verbosity])
  names = common.add_argument_group('resources')
  names.add_argument(
    '--project',
    default=resources.default_project(),
    help='Google Cloud project (default: $GOOGLE_CLOUD_PROJECT, else '
    f'{resources.DEFAULT_PROJECT})',
  )
  names.add_argument(
    '--instance',
    default='viewcounts',
    help='Bigtable instance (default: %(default)s)',
  )
  names.add_argument(
    '--table',
    default=schema.DEFAULT_TABLE_ID,
    help='Bigtable table (default: %(default)s)',
  )
  names.add_argument(
    '--topic', default='views', help='input topic (default: %(default)s)'
  )
  names.add_argument(
    '--subscription',
    default='views-pipeline',
    help="the pipeline's subscription (default: %(default)s)",
  )
  names.add_argument(
    '--dead-letter-topic',
    default='views-dead-letter',
    help='dead-letter topic (default: %(default)s)',
  )
  names.add_argument(
    '--dead-letter-subscription',
    default=None,
    help='subscription to read dead letters (default: '
    '<dead-letter-topic>-reader)',
  )

  parser = argparse.ArgumentParser(
    prog='viewcounts',
    description=__doc__,
    formatter_class=argparse.RawDescriptionHelpFormatter,
  )
  commands = parser.add_subparsers(
    dest='command', required=True, metavar='COMMAND'
  )
  for add in (
    _add_provision,
    _add_publish,
    _add_query,
    _add_verify,
    _add_top,
    _add_backfill,
  ):
    add(commands, common)
  # The emulators serve any project and resource names.
  _add_emulators(commands, verbosity)
  return parser


def _resources(args: argparse.Namespace) -> resources.Resources:
  return resources.Resources(
    project=args.project,
    instance=args.instance,
    table=args.table,
    topic=args.topic,
    subscription=args.subscription,
    dead_letter_topic=args.dead_letter_topic,
    dead_letter_subscription=args.dead_letter_subscription,
  )


def _rfc3339(text: str) -> datetime.datetime:
  try:
    return times.parse_rfc3339(text)
  except ValueError as error:
    raise argparse.ArgumentTypeError(str(error)) from error


def _add_provision(commands, common) -> None:
  command = commands.add_parser(
    'provision',
    parents=[common],
    help='create the topics, subscriptions and table (idempotent)',
    description=provision.__doc__,
    formatter_class=argparse.RawDescriptionHelpFormatter,
  )
  command.add_argument(
    '--message-retention-sec',
    type=int,
    default=provision.DEFAULT_RETENTION_SEC,
    help='how long the subscriptions keep messages, acknowledged ones '
    'included for the pipeline, so a replay can seek back this far; '
    f'{provision.MIN_RETENTION_SEC}..{provision.MAX_RETENTION_SEC} '
    '(default: %(default)s)',
  )
  command.set_defaults(run=_run_provision)


def _run_provision(args) -> int:
  for line in provision.provision(_resources(args), args.message_retention_sec):
    print(line)
  return 0


def _add_publish(commands, common) -> None:
  command = commands.add_parser(
    'publish',
    parents=[common],
    help='publish synthetic views, or messages from a file',
    description='Publish synthetic views at a steady rate (the default), or\n'
    'the messages of --from-file. Prints one summary line; exits 1 if any\n'
    'publish failed.',
    epilog=messages.__doc__,
    formatter_class=argparse.RawDescriptionHelpFormatter,
  )
  load = command.add_argument_group('synthetic load (ignored with --from-file)')
  load.add_argument(
    '--rate',
    type=float,
    default=100.0,
    help='views per second (default: %(default)s)',
  )
  load.add_argument(
    '--duration',
    type=float,
    default=60.0,
    help='seconds to publish for (default: %(default)s)',
  )
  load.add_argument(
    '--videos',
    type=int,
    default=100,
    help='distinct videos, awkward ids among them such as '
    "'a#b', 'A', emoji (default: %(default)s)",
  )
  load.add_argument(
    '--zipf',
    type=float,
    default=1.2,
    help='Zipf exponent of video popularity, 0 for uniform '
    '(default: %(default)s)',
  )
  load.add_argument(
    '--late-fraction',
    type=float,
    default=0.02,
    help='fraction of views whose eventTime is before their '
    'publish time, so they may land in the previous window '
    '(default: %(default)s)',
  )
  load.add_argument(
    '--duplicate-fraction',
    type=float,
    default=0.0,
    help='fraction of views published a second time with the same '
    'eventId, as a publisher retry does; the truth counts them once '
    '(default: %(default)s)',
  )
  load.add_argument(
    '--max-late-sec',
    type=float,
    default=20.0,
    help='how far before its publish time a late view '
    'happened, at most (default: %(default)s)',
  )
  load.add_argument(
    '--seed',
    type=int,
    default=0,
    help='the same seed sends the same videos, eventIds and '
    'lateness; only the clock differs (default: %(default)s)',
  )
  load.add_argument(
    '--max-in-flight',
    type=int,
    default=publish.DEFAULT_MAX_IN_FLIGHT,
    help='publishes awaiting confirmation before publishing '
    'blocks (default: %(default)s)',
  )
  command.add_argument(
    '--from-file',
    metavar='FILE',
    help='publish the JSON lines of FILE (format below)',
  )
  command.add_argument(
    '--truth',
    metavar='FILE',
    help='write the exact expected counts per (video, window) as JSON lines, '
    'the shape of `query --json`. With --from-file, only messages whose data '
    'is a valid event with its own eventTime are counted (attributes are not '
    'considered, and eventIds deduplicate per video and window); the others '
    'are left out, and the summary says how many',
  )
  command.add_argument(
    '--window-size-sec',
    type=int,
    default=60,
    help="the pipeline's window length (default: %(default)s)",
  )
  command.add_argument(
    '--max-future-skew-sec',
    type=float,
    default=truth.DEFAULT_MAX_FUTURE_SKEW_SEC,
    help="the pipeline's limit on event times ahead of "
    'the clock, for the truth (default: %(default)s)',
  )
  command.set_defaults(run=_run_publish)


def _run_publish(args) -> int:
  topic_path = _resources(args).topic_path
  # The whole file is checked before anything is sent.
  file_messages = messages.read_file(args.from_file) if args.from_file else []
  publisher = publish.make_publisher(args.max_in_flight)
  try:
    if args.from_file:
      result = publish.publish_messages(
        topic_path,
        file_messages,
        window_size_sec=args.window_size_sec,
        max_future_skew_sec=args.max_future_skew_sec,
        publisher=publisher,
      )
    else:
      result = publish.publish_synthetic(
        topic_path,
        rate=args.rate,
        duration_sec=args.duration,
        videos=args.videos,
        zipf_s=args.zipf,
        late_fraction=args.late_fraction,
        duplicate_fraction=args.duplicate_fraction,
        max_late_sec=args.max_late_sec,
        seed=args.seed,
        window_size_sec=args.window_size_sec,
        publisher=publisher,
      )
  finally:
    publisher.stop()
    publisher.transport.close()
  if args.truth:
    jsonl.write_file(result.truth, args.truth)
  print(result.summary())
  return 1 if result.failed else 0


def _add_query(commands, common) -> None:
  command = commands.add_parser(
    'query',
    parents=[common],
    help="one video's counts per window and in total",
  )
  command.add_argument(
    '--video',
    required=True,
    help='the videoId, exactly (no trimming, any case)',
  )
  command.add_argument(
    '--start',
    type=_rfc3339,
    help='only windows starting at or after this RFC 3339 time',
  )
  command.add_argument(
    '--end',
    type=_rfc3339,
    help='only windows starting before this RFC 3339 time',
  )
  command.add_argument(
    '--json',
    action='store_true',
    help='one JSON object per window: videoId, '
    'windowStart, windowEnd, views; no total',
  )
  command.set_defaults(run=_run_query)


def _run_query(args) -> int:
  table = _resources(args).bigtable_table()
  counts = query.read_video_counts(table, args.video, args.start, args.end)
  if args.json:
    jsonl.write(counts, sys.stdout)
    return 0
  print(f'videoId {json.dumps(args.video, ensure_ascii=False)}')
  for count in counts:
    print(
      f'{times.format_rfc3339(count.window_start)}  '
      f'{times.format_rfc3339(count.window_end)}  {count.views:>10}'
    )
  total = sum(count.views for count in counts)
  print(f'total {total} views in {len(counts)} windows')
  return 0


def _add_verify(commands, common) -> None:
  command = commands.add_parser(
    'verify',
    parents=[common],
    help='compare the table with a truth file; exit 0 only on an exact match',
    description='Every truth row must be stored with the same count, and no '
    'other row may be stored. Mismatches are listed (missing, wrong count, '
    'unexpected), then a summary line; the exit code is 1 on any mismatch.',
  )
  command.add_argument(
    '--truth',
    required=True,
    metavar='FILE',
    help='JSON lines written by `publish --truth`',
  )
  command.add_argument(
    '--timeout-sec',
    type=float,
    default=0.0,
    help='keep re-reading until exact or this many seconds '
    'passed, for panes still being written (default: '
    '%(default)s)',
  )
  command.set_defaults(run=_run_verify)


def _run_verify(args) -> int:
  expected = jsonl.read_file(args.truth)
  table = _resources(args).bigtable_table()
  comparison = verify.verify(table, expected, timeout_sec=args.timeout_sec)
  for line in verify.describe(comparison):
    print(line)
  return 0 if comparison.exact else 1


def _add_backfill(commands, common) -> None:
  command = commands.add_parser(
    'backfill',
    parents=[common],
    help='recount archived views in batch, into the same rows',
    description="Recount archived views in batch with the streaming job's "
    'own transforms, writing the same rows (the larger count of a window '
    "wins, so both can cover the same range). Each line is one view's "
    'JSON payload; one without an eventTime is malformed.',
  )
  command.add_argument(
    '--input',
    action='append',
    required=True,
    help='files of views, one JSON payload per line: a local path or '
    'gs:// pattern; repeat for more',
  )
  command.add_argument(
    '--window-size-sec',
    type=int,
    default=60,
    help="the streaming job's --window_size_sec (default: %(default)s)",
  )
  command.add_argument(
    '--dead-letters',
    metavar='PREFIX',
    help='write malformed lines, with their reasons, as JSON lines to '
    'files starting with PREFIX (default: count and log them only)',
  )
  command.add_argument(
    'beam_args',
    nargs='*',
    help='Beam pipeline options after --, for example --runner '
    'DataflowRunner (default: the local FnApiRunner)',
  )
  command.set_defaults(run=_run_backfill)


def _run_backfill(args) -> int:
  # Beam is slow to import; only this command needs it.
  from pipeline import backfill
  from transforms import accounting

  if args.window_size_sec <= 0:
    raise ValueError('--window-size-sec must be a positive number of seconds')
  target = _resources(args)
  figures = backfill.run_backfill(
    args.input,
    args.window_size_sec,
    backfill.Target(target.project, target.instance, target.table),
    args.dead_letters,
    args.beam_args,
  )
  for name, value in figures.items():
    print(f'  {name:<30} {value:>10,}')
  accounted = sum(figures[name] for name in accounting.OUTCOMES)
  balanced = accounted == figures[accounting.READ]
  print(f'Every line accounted for: {"yes" if balanced else "NO"}')
  return 0 if balanced else 1


def _add_top(commands, common) -> None:
  command = commands.add_parser(
    'top', parents=[common], help='the most viewed videos, all windows summed'
  )
  command.add_argument(
    '-n', type=int, default=10, help='how many (default: %(default)s)'
  )
  command.set_defaults(run=_run_top)


def _run_top(args) -> int:
  counts = query.read_all_counts(_resources(args).bigtable_table())
  for rank, (video_id, views) in enumerate(
    query.top_videos(counts, args.n), start=1
  ):
    shown = json.dumps(video_id, ensure_ascii=False)
    if len(shown) > _TOP_ID_CHARS:
      shown = f'{shown[:_TOP_ID_CHARS]}... ({len(video_id)} chars)'
    print(f'{rank:>3}  {views:>12}  {shown}')
  return 0


def _add_emulators(commands, common) -> None:
  command = commands.add_parser(
    'emulators',
    parents=[common],
    help='run the Pub/Sub and Bigtable emulators until interrupted',
    description='Start the Cloud SDK emulators on free loopback ports (or use '
    'those the environment names), print `export VAR=host:port` lines, and '
    'stop them on SIGINT or SIGTERM.',
  )
  command.add_argument(
    '--env-file',
    metavar='FILE',
    help='also write the export lines to FILE, atomically, '
    'once both emulators accept connections',
  )
  command.add_argument(
    '--log-dir',
    help='where the emulator logs go (default: a '
    'temporary directory, removed on a clean stop)',
  )
  command.add_argument(
    '--start-timeout-sec',
    type=float,
    default=60.0,
    help='how long to wait for each emulator to accept connections '
    '(default: %(default)s)',
  )
  command.set_defaults(run=_run_emulators)


def _run_emulators(args) -> int:
  def stop(signum, frame):
    raise KeyboardInterrupt

  # SIGINT too: a shell starts background jobs with SIGINT ignored, and then
  # Python raises no KeyboardInterrupt by itself.
  for signum in (signal.SIGINT, signal.SIGTERM):
    signal.signal(signum, stop)
  with emulators.running_emulators(
    log_dir=args.log_dir, start_timeout_sec=args.start_timeout_sec
  ) as env:
    exports = ''.join(f'export {k}={v}\n' for k, v in sorted(env.items()))
    if args.env_file:
      _write_atomically(args.env_file, exports)
    print(exports, end='', flush=True)
    try:
      while True:
        time.sleep(3600)
    except KeyboardInterrupt:
      _LOGGER.info('Stopping the emulators')
    finally:
      # A stale file would name ports that nothing listens on any more.
      if args.env_file:
        os.remove(args.env_file)
  return 0


def _write_atomically(path: str, text: str) -> None:
  # A reader polling for the file never sees it half written.
  directory = os.path.dirname(os.path.abspath(path))
  with tempfile.NamedTemporaryFile(
    'w', dir=directory, delete=False, encoding='utf-8'
  ) as out:
    out.write(text)
  os.replace(out.name, path)
