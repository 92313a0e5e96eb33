"""provision on the emulators: creates, is idempotent, repairs settings."""

import datetime

import pytest
from google.cloud import pubsub_v1
from google.cloud.bigtable import column_family

from tests.viewcounts.emulator_helpers import cli_flags, pull
from viewcounts import cli, provision

pytestmark = pytest.mark.emulator

SEVEN_DAYS = datetime.timedelta(days=7)


def test_creates_everything_then_finds_it(fresh):
  first = provision.provision(fresh)
  second = provision.provision(fresh)

  assert len(first) == 5
  assert all(line.endswith(': created') for line in first), first
  assert all(line.endswith(': exists') for line in second), second
  with pubsub_v1.SubscriberClient() as subscriber:
    pipeline = subscriber.get_subscription(subscription=fresh.subscription_path)
    dead_letters = subscriber.get_subscription(
      subscription=fresh.dead_letter_subscription_path
    )
  assert pipeline.topic == fresh.topic_path
  assert pipeline.retain_acked_messages
  assert pipeline.message_retention_duration == SEVEN_DAYS
  assert dead_letters.topic == fresh.dead_letter_topic_path
  families = fresh.bigtable_table(admin=True).list_column_families()
  assert list(families) == ['views']
  assert families['views'].gc_rule == column_family.MaxVersionsGCRule(1)


def test_cli_twice(fresh, capsys):
  assert cli.main(['provision', *cli_flags(fresh)]) == 0
  assert cli.main(['provision', *cli_flags(fresh)]) == 0

  lines = capsys.readouterr().out.splitlines()
  assert len(lines) == 10
  assert lines[5:] == [line.replace('created', 'exists') for line in lines[:5]]


def test_repairs_what_an_earlier_setup_left(fresh):
  with pubsub_v1.PublisherClient() as publisher:
    publisher.create_topic(name=fresh.topic_path)
  with pubsub_v1.SubscriberClient() as subscriber:
    subscriber.create_subscription(
      name=fresh.subscription_path, topic=fresh.topic_path
    )
  fresh.bigtable_table(admin=True).create()

  report = provision.provision(fresh, message_retention_sec=3600)

  assert report[2].endswith(
    ': updated retain_acked_messages, message_retention_duration'
  )
  assert report[4].endswith(': exists, added family views')
  with pubsub_v1.SubscriberClient() as subscriber:
    pipeline = subscriber.get_subscription(subscription=fresh.subscription_path)
  assert pipeline.retain_acked_messages
  assert pipeline.message_retention_duration == datetime.timedelta(hours=1)


def test_refuses_a_subscription_on_another_topic(fresh):
  other_topic = fresh.topic_path + '-other'
  with pubsub_v1.PublisherClient() as publisher:
    publisher.create_topic(name=other_topic)
  with pubsub_v1.SubscriberClient() as subscriber:
    subscriber.create_subscription(
      name=fresh.subscription_path, topic=other_topic
    )

  with pytest.raises(provision.ProvisionError, match='exists on'):
    provision.provision(fresh)


@pytest.mark.parametrize('seconds', [599, 7 * 24 * 3600 + 1])
def test_retention_out_of_bounds_fails_before_any_call(fresh, seconds):
  with pytest.raises(ValueError, match='message retention'):
    provision.provision(fresh, message_retention_sec=seconds)


def test_acknowledged_messages_can_be_replayed_by_seek(provisioned):
  # What a restart relies on (DESIGN.md, Running it): the emulator keeps
  # acknowledged messages and honours a seek to a time.
  before = datetime.datetime.now(datetime.timezone.utc)
  with pubsub_v1.PublisherClient() as publisher:
    for data in (b'one', b'two', b'three'):
      publisher.publish(provisioned.topic_path, data).result(timeout=30)
  first = pull(provisioned.subscription_path, 3)

  with pubsub_v1.SubscriberClient() as subscriber:
    subscriber.seek(
      request={
        'subscription': provisioned.subscription_path,
        'time': before - datetime.timedelta(seconds=1),
      }
    )
  replayed = pull(provisioned.subscription_path, 3)

  assert sorted(m.data for m in first) == [b'one', b'three', b'two']
  assert sorted(m.data for m in replayed) == [b'one', b'three', b'two']
