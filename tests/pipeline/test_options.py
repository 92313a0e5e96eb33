"""Flag checks made before launch (DESIGN.md, "Pipeline options")."""

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.options import (
  DEFAULT_ALLOWED_LATENESS_SEC,
  DEFAULT_MAX_FUTURE_SKEW_SEC,
  DEFAULT_WINDOW_SIZE_SEC,
  InvalidOptionsError,
  ViewCountOptions,
  bigtable_project_id,
  validate,
)
from pipeline.pipeline import build_pipeline
from transforms import schema

SUBSCRIPTION = 'projects/p/subscriptions/views'
TOPIC = 'projects/p/topics/views'
REQUIRED = [
  f'--input_subscription={SUBSCRIPTION}',
  '--bigtable_instance_id=instance',
  '--project=p',
]


def _options(*flags, base=REQUIRED) -> PipelineOptions:
  return PipelineOptions([*base, *flags])


def _refusal(*flags, base=REQUIRED) -> str:
  with pytest.raises(InvalidOptionsError) as raised:
    validate(_options(*flags, base=base))
  return str(raised.value)


def test_the_minimal_flags_pass_with_the_documented_defaults():
  opts = validate(_options())
  assert isinstance(opts, ViewCountOptions)
  assert opts.input_subscription == SUBSCRIPTION
  assert opts.input_topic is None
  assert opts.window_size_sec == DEFAULT_WINDOW_SIZE_SEC == 60
  assert opts.allowed_lateness_sec == DEFAULT_ALLOWED_LATENESS_SEC
  assert opts.max_future_skew_sec == DEFAULT_MAX_FUTURE_SKEW_SEC == 300
  assert opts.early_firing_sec is None
  assert opts.bigtable_table_id == schema.DEFAULT_TABLE_ID
  assert opts.dead_letter_topic is None


def test_every_flag_is_read_with_its_unit():
  opts = validate(
    _options(
      '--bigtable_project_id=bt-project',
      '--bigtable_table_id=counts',
      '--window_size_sec=30',
      '--allowed_lateness_sec=0',
      '--early_firing_sec=5',
      '--timestamp_attribute=ts',
      '--id_attribute=eventId',
      '--dead_letter_topic=projects/p/topics/dead',
      '--max_future_skew_sec=0.5',
      '--hot_key_fanout=4',
    )
  )
  assert (opts.window_size_sec, opts.allowed_lateness_sec) == (30, 0)
  assert (opts.early_firing_sec, opts.max_future_skew_sec) == (5, 0.5)
  assert (opts.timestamp_attribute, opts.id_attribute) == ('ts', 'eventId')
  assert opts.bigtable_table_id == 'counts'
  assert opts.dead_letter_topic == 'projects/p/topics/dead'
  assert opts.hot_key_fanout == 4


@pytest.mark.parametrize('fanout', ['0', '1', '-4'])
def test_a_hot_key_fanout_below_two_is_refused_naming_the_flag(fanout):
  assert '--hot_key_fanout' in _refusal(f'--hot_key_fanout={fanout}')


@pytest.mark.parametrize('size', ['0', '-1', '-60'])
def test_c11_a_window_of_zero_or_less_is_refused_naming_the_flag(size):
  assert '--window_size_sec' in _refusal(f'--window_size_sec={size}')


def test_c11_refused_before_any_transform_is_added():
  # Not Beam's "GroupByKey cannot be applied to an unbounded PCollection
  # with global windowing" from deep inside the graph: nothing is built.
  options = _options('--window_size_sec=0', '--streaming')
  p = beam.Pipeline(options=options)
  with pytest.raises(InvalidOptionsError, match='--window_size_sec'):
    build_pipeline(p, options)
  assert p.applied_labels == set()
  assert p.transforms_stack[-1].parts == []


def test_build_pipeline_raises_what_validate_raises():
  options = _options('--early_firing_sec=0')
  p = beam.Pipeline(options=options)
  with pytest.raises(InvalidOptionsError) as from_build:
    build_pipeline(p, options)
  with pytest.raises(InvalidOptionsError) as from_validate:
    validate(options)
  assert str(from_build.value) == str(from_validate.value)
  assert p.applied_labels == set()


@pytest.mark.parametrize(
  'base',
  [
    ['--bigtable_instance_id=instance', '--project=p'],
    [
      f'--input_subscription={SUBSCRIPTION}',
      f'--input_topic={TOPIC}',
      '--bigtable_instance_id=instance',
      '--project=p',
    ],
    ['--input_subscription=', '--bigtable_instance_id=i', '--project=p'],
  ],
  ids=['neither', 'both', 'empty'],
)
def test_exactly_one_input_is_required(base):
  message = _refusal(base=base)
  assert '--input_subscription' in message
  assert '--input_topic' in message


def test_a_topic_alone_is_an_input():
  base = [f'--input_topic={TOPIC}', '--bigtable_instance_id=i', '--project=p']
  assert validate(_options(base=base)).input_topic == TOPIC


@pytest.mark.parametrize(
  'path',
  [
    'views',
    'projects/p/topics/views',  # a topic given as a subscription
    'projects/p/subscriptions/',
    'projects//subscriptions/views',
    'projects/p/subscriptions/views/extra',
    '/projects/p/subscriptions/views',
    'https://pubsub.googleapis.com/v1/projects/p/subscriptions/views',
  ],
)
def test_a_bad_subscription_path_is_refused_naming_the_flag(path):
  base = [f'--input_subscription={path}', '--bigtable_instance_id=i']
  assert '--input_subscription' in _refusal('--project=p', base=base)


@pytest.mark.parametrize(
  'path',
  [
    'views',
    'projects/p/subscriptions/views',  # a subscription given as a topic
    'projects/p/topics/',
    'projects/p/topics/views/extra',
  ],
)
@pytest.mark.parametrize('flag', ['--input_topic', '--dead_letter_topic'])
def test_a_bad_topic_path_is_refused_naming_the_flag(flag, path):
  base = ['--bigtable_instance_id=i', '--project=p']
  if flag != '--input_topic':
    base.append(f'--input_subscription={SUBSCRIPTION}')
  assert flag in _refusal(f'{flag}={path}', base=base)


@pytest.mark.parametrize(
  'flag, value',
  [
    ('--allowed_lateness_sec', '-1'),
    ('--max_future_skew_sec', '-1'),
    ('--max_future_skew_sec', '-0.001'),
    # Neither bounds anything: every event time check would fail or crash.
    ('--max_future_skew_sec', 'nan'),
    ('--max_future_skew_sec', 'inf'),
  ],
)
def test_a_negative_or_unbounded_allowance_is_refused_naming_it(flag, value):
  assert flag in _refusal(f'{flag}={value}')


@pytest.mark.parametrize(
  'flag, value',
  [('--allowed_lateness_sec', '0'), ('--max_future_skew_sec', '0')],
)
def test_a_zero_allowance_is_allowed(flag, value):
  validate(_options(f'{flag}={value}'))


@pytest.mark.parametrize('seconds', ['0', '-5'])
def test_early_firing_of_zero_or_less_is_refused_naming_it(seconds):
  message = _refusal(f'--early_firing_sec={seconds}')
  assert '--early_firing_sec' in message


def test_the_bigtable_instance_is_required():
  base = [f'--input_subscription={SUBSCRIPTION}', '--project=p']
  assert '--bigtable_instance_id' in _refusal(base=base)


def test_the_bigtable_project_defaults_to_the_project():
  options = _options()
  validate(options)
  assert bigtable_project_id(options) == 'p'


def test_an_explicit_bigtable_project_wins():
  options = _options('--bigtable_project_id=bt-project')
  validate(options)
  assert bigtable_project_id(options) == 'bt-project'


def test_a_bigtable_project_without_a_project_is_enough():
  base = [f'--input_subscription={SUBSCRIPTION}', '--bigtable_instance_id=i']
  options = _options('--bigtable_project_id=bt-project', base=base)
  validate(options)
  assert bigtable_project_id(options) == 'bt-project'


def test_no_project_at_all_is_refused_naming_both_flags():
  base = [f'--input_subscription={SUBSCRIPTION}', '--bigtable_instance_id=i']
  message = _refusal(base=base)
  assert '--bigtable_project_id' in message
  assert '--project' in message
