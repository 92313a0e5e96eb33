"""Create the topics, subscriptions and table the pipeline needs; idempotent.

Running it again creates what is missing and brings the settings that
matter back to what the pipeline relies on; it never deletes anything.

- the input topic, and the pipeline's subscription on it, which keeps
  acknowledged messages (retain_acked_messages) for message_retention_sec
  so that a replacement job can replay by seeking back in time;
- the dead-letter topic, and a subscription on it to read dead letters;
- the Bigtable table with the `views` family, garbage collection keeping one
  version (the highest count, see transforms/schema.py).

The Bigtable instance itself is not created: on Google Cloud it is billed
per node and sized by its owner, and the emulator accepts any instance name.
"""

import datetime
import logging

from google.api_core import exceptions
from google.cloud import pubsub_v1
from google.cloud.bigtable import column_family
from google.cloud.bigtable.table import Table
from google.protobuf import field_mask_pb2

from transforms import schema
from viewcounts.resources import Resources

_LOGGER = logging.getLogger(__name__)

# Pub/Sub's bounds for message retention are 10 minutes to 7 days (the
# emulator enforces them too); 7 days is also Pub/Sub's default.
MIN_RETENTION_SEC = 10 * 60
MAX_RETENTION_SEC = 7 * 24 * 3600
DEFAULT_RETENTION_SEC = MAX_RETENTION_SEC


class ProvisionError(RuntimeError):
  """An existing resource conflicts with what the pipeline needs."""


def provision(
  resources: Resources, message_retention_sec: int = DEFAULT_RETENTION_SEC
) -> list[str]:
  """Ensures every resource exists as described above.

  Returns one line per resource saying what was done, for the CLI.
  """
  if not MIN_RETENTION_SEC <= message_retention_sec <= MAX_RETENTION_SEC:
    raise ValueError(
      f'message retention must be {MIN_RETENTION_SEC}..{MAX_RETENTION_SEC}s, '
      f'got {message_retention_sec}'
    )
  retention = datetime.timedelta(seconds=message_retention_sec)
  report = []
  with pubsub_v1.PublisherClient() as publisher:
    report.append(_ensure_topic(publisher, resources.topic_path))
    report.append(_ensure_topic(publisher, resources.dead_letter_topic_path))
  with pubsub_v1.SubscriberClient() as subscriber:
    report.append(
      _ensure_subscription(
        subscriber,
        resources.subscription_path,
        resources.topic_path,
        retain_acked_messages=True,
        retention=retention,
      )
    )
    # Dead letters are read once; keeping acknowledged ones would only cost.
    report.append(
      _ensure_subscription(
        subscriber,
        resources.dead_letter_subscription_path,
        resources.dead_letter_topic_path,
        retain_acked_messages=False,
        retention=retention,
      )
    )
  report.append(_ensure_table(resources.bigtable_table(admin=True)))
  for line in report:
    _LOGGER.info('%s', line)
  return report


def _ensure_topic(publisher: pubsub_v1.PublisherClient, path: str) -> str:
  try:
    publisher.create_topic(name=path)
  except exceptions.AlreadyExists:
    return f'topic {path}: exists'
  return f'topic {path}: created'


def _ensure_subscription(
  subscriber: pubsub_v1.SubscriberClient,
  path: str,
  topic_path: str,
  *,
  retain_acked_messages: bool,
  retention: datetime.timedelta,
) -> str:
  wanted = {
    'name': path,
    'topic': topic_path,
    'retain_acked_messages': retain_acked_messages,
    'message_retention_duration': retention,
  }
  try:
    subscriber.create_subscription(request=wanted)
  except exceptions.AlreadyExists:
    pass
  else:
    return f'subscription {path}: created'
  existing = subscriber.get_subscription(subscription=path)
  if existing.topic != topic_path:
    raise ProvisionError(
      f'subscription {path} exists on {existing.topic}, not {topic_path}; '
      'delete it or choose another subscription name'
    )
  stale = [
    field
    for field in ('retain_acked_messages', 'message_retention_duration')
    if getattr(existing, field) != wanted[field]
  ]
  if not stale:
    return f'subscription {path}: exists'
  subscriber.update_subscription(
    request={
      'subscription': wanted,
      'update_mask': field_mask_pb2.FieldMask(paths=stale),
    }
  )
  return f'subscription {path}: updated {", ".join(stale)}'


def _ensure_table(table: Table) -> str:
  gc_rule = column_family.MaxVersionsGCRule(1)
  name = f'table {table.name}'
  if not table.exists():
    try:
      table.create(column_families={schema.COLUMN_FAMILY: gc_rule})
    except exceptions.AlreadyExists:
      pass  # created concurrently; check its family below
    else:
      return f'{name}: created'
  families = table.list_column_families()
  family = table.column_family(schema.COLUMN_FAMILY, gc_rule)
  if schema.COLUMN_FAMILY not in families:
    family.create()
    return f'{name}: exists, added family {schema.COLUMN_FAMILY}'
  if families[schema.COLUMN_FAMILY].gc_rule != gc_rule:
    family.update()
    return f'{name}: exists, set {schema.COLUMN_FAMILY} to keep 1 version'
  return f'{name}: exists'
