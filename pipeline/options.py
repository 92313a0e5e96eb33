"""Every flag of the view-count pipeline, and the checks made before launch."""

import argparse
import math
import re

from apache_beam.options.pipeline_options import (
  GoogleCloudOptions,
  PipelineOptions,
)

from transforms import schema

DEFAULT_WINDOW_SIZE_SEC = 60
# The DirectRunner sets the Pub/Sub watermark to the wall clock, so a view
# read even a moment after its window ended is late, and a backlog makes
# whole minutes late. Ten minutes keeps a local run lossless; on Dataflow it
# is also the span a restart can replay and still count.
DEFAULT_ALLOWED_LATENESS_SEC = 600
DEFAULT_MAX_FUTURE_SKEW_SEC = 300

_SUBSCRIPTION_PATH = re.compile(r'^projects/[^/]+/subscriptions/[^/]+$')
_TOPIC_PATH = re.compile(r'^projects/[^/]+/topics/[^/]+$')


class InvalidOptionsError(ValueError):
  """A flag, or a combination of flags, that cannot run."""


class ViewCountOptions(PipelineOptions):
  @classmethod
  def _add_argparse_args(cls, parser):
    parser.add_argument(
      '--input_subscription',
      help='Pub/Sub subscription to read views from, as '
      'projects/<project>/subscriptions/<name>. Exactly one of this and '
      '--input_topic. Prefer a subscription: it keeps unread views while '
      'the job is down and can be replayed by seek.',
    )
    parser.add_argument(
      '--input_topic',
      help='Pub/Sub topic to read views from, as '
      'projects/<project>/topics/<name>; the runner makes a temporary '
      'subscription, so views published while the job is down are lost.',
    )
    parser.add_argument(
      '--bigtable_project_id',
      help='Project of the Bigtable instance. Default: --project.',
    )
    parser.add_argument(
      '--bigtable_instance_id', help='Bigtable instance to write counts to.'
    )
    parser.add_argument(
      '--bigtable_table_id',
      default=schema.DEFAULT_TABLE_ID,
      help='Bigtable table to write counts to; it needs the column family '
      f'"{schema.COLUMN_FAMILY}". Default: %(default)s.',
    )
    parser.add_argument(
      '--window_size_sec',
      type=int,
      default=DEFAULT_WINDOW_SIZE_SEC,
      help='Length of the fixed event-time windows, in seconds. '
      'Default: %(default)s.',
    )
    parser.add_argument(
      '--allowed_lateness_sec',
      type=int,
      default=DEFAULT_ALLOWED_LATENESS_SEC,
      help='How long after its window closes a view is still counted, in '
      'seconds; later views are dead-lettered as too late. Default: '
      '%(default)s.',
    )
    parser.add_argument(
      '--early_firing_sec',
      type=int,
      default=None,
      help='Write speculative counts every this many seconds of processing '
      'time before a window closes. Default: off.',
    )
    parser.add_argument(
      '--hot_key_fanout',
      type=int,
      default=None,
      help="Spread each video's tally over this many intermediate keys "
      'before combining, for videos too hot for one worker. Early counts '
      'are then not written for them, only on-time and late ones. '
      'Default: off.',
    )
    parser.add_argument(
      '--timestamp_attribute',
      help='Message attribute holding the event time (RFC 3339 with a '
      'zone, or epoch milliseconds). When absent from a message, the '
      'payload eventTime is used, else the publish time.',
    )
    parser.add_argument(
      '--id_attribute',
      help='Message attribute holding a unique id; on Dataflow the read '
      'drops redelivered messages with the same id.',
    )
    parser.add_argument(
      '--dead_letter_topic',
      help='Pub/Sub topic, as projects/<project>/topics/<name>, for '
      'malformed and too-late messages: the original bytes and '
      'attributes plus deadLetterReason and deadLetterDetail attributes. '
      'Without it they are only counted and sampled in the log.',
    )
    parser.add_argument(
      '--replay_on_start',
      action='store_true',
      default=False,
      help='Before starting, seek --input_subscription back by window + '
      'allowed lateness + future skew, so that a job replacing one that '
      'crashed or was cancelled recounts every window that can still take '
      'views. Safe to use on any start: replayed copies are dropped as '
      'duplicates or, for closed windows, dead-lettered as too late again.',
    )
    parser.add_argument(
      '--max_future_skew_sec',
      type=float,
      default=DEFAULT_MAX_FUTURE_SKEW_SEC,
      help='How far ahead of the processing clock an event time may be, in '
      'seconds; further ahead is malformed. Default: %(default)s.',
    )


def validate(options: PipelineOptions) -> ViewCountOptions:
  """Checks the flags together; raises InvalidOptionsError naming the flag."""
  opts = options.view_as(ViewCountOptions)
  if bool(opts.input_subscription) == bool(opts.input_topic):
    raise InvalidOptionsError(
      'give exactly one of --input_subscription and --input_topic'
    )
  if opts.input_subscription and not _SUBSCRIPTION_PATH.match(
    opts.input_subscription
  ):
    raise InvalidOptionsError(
      '--input_subscription must look like '
      f'projects/<project>/subscriptions/<name>, not '
      f'{opts.input_subscription!r}'
    )
  for flag, value in (
    ('--input_topic', opts.input_topic),
    ('--dead_letter_topic', opts.dead_letter_topic),
  ):
    if value and not _TOPIC_PATH.match(value):
      raise InvalidOptionsError(
        f'{flag} must look like projects/<project>/topics/<name>, not {value!r}'
      )
  if opts.window_size_sec is None or opts.window_size_sec <= 0:
    raise InvalidOptionsError(
      f'--window_size_sec must be a positive number of seconds, not '
      f'{opts.window_size_sec}; views are counted per fixed window'
    )
  if opts.allowed_lateness_sec < 0:
    raise InvalidOptionsError(
      f'--allowed_lateness_sec must be 0 or more, not '
      f'{opts.allowed_lateness_sec}'
    )
  if opts.early_firing_sec is not None and opts.early_firing_sec <= 0:
    raise InvalidOptionsError(
      f'--early_firing_sec must be a positive number of seconds, not '
      f'{opts.early_firing_sec}; leave it out to disable early counts'
    )
  if opts.hot_key_fanout is not None and opts.hot_key_fanout < 2:
    raise InvalidOptionsError(
      f'--hot_key_fanout must be 2 or more, not {opts.hot_key_fanout}; '
      'leave it out to combine each video on one key'
    )
  # float() also reads 'nan' and 'inf', which bound nothing and make every
  # event time check raise.
  if not 0 <= opts.max_future_skew_sec < math.inf:
    raise InvalidOptionsError(
      '--max_future_skew_sec must be a finite number of seconds, 0 or '
      f'more, not {opts.max_future_skew_sec}'
    )
  if opts.replay_on_start and not opts.input_subscription:
    raise InvalidOptionsError(
      '--replay_on_start needs --input_subscription: a topic read has no '
      'history to replay'
    )
  if not opts.bigtable_instance_id:
    raise InvalidOptionsError('--bigtable_instance_id is required')
  if not bigtable_project_id(options):
    raise InvalidOptionsError(
      'give --bigtable_project_id or --project for the Bigtable instance'
    )
  return opts


def bigtable_project_id(options: PipelineOptions) -> str | None:
  return (
    options.view_as(ViewCountOptions).bigtable_project_id
    or options.view_as(GoogleCloudOptions).project
  )


def view_count_flags(options: PipelineOptions) -> dict[str, object]:
  """This pipeline's own flags and their resolved values, for the log."""
  parser = argparse.ArgumentParser()
  ViewCountOptions._add_argparse_args(parser)
  opts = options.view_as(ViewCountOptions)
  return {name: getattr(opts, name) for name in vars(parser.parse_args([]))}


def reject_unknown_flags(options: PipelineOptions, argv: list[str]) -> None:
  """Beam only warns about a flag it does not know; a typo such as
  --windowsize_sec would then run with the default window. Refuse it."""
  parsers = []
  options.get_all_options(add_extra_args_fn=parsers.append)
  _, unknown = parsers[0].parse_known_args(argv)
  if unknown:
    raise InvalidOptionsError(
      f'unknown flag {unknown[0]!r}; `python -m pipeline --help` lists this '
      "pipeline's flags"
    )


def print_help() -> None:
  parser = argparse.ArgumentParser(
    prog='python -m pipeline',
    description='Counts video views from Pub/Sub per video and fixed '
    "event-time window into Bigtable. Takes these flags plus Beam's own "
    '(--runner, --project, --region, --streaming, --setup_file, ...).',
  )
  ViewCountOptions._add_argparse_args(parser)
  parser.print_help()
