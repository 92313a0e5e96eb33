"""The command line, where no emulator is needed."""

import pytest

from viewcounts import cli


def test_resource_defaults(monkeypatch):
  monkeypatch.delenv('GOOGLE_CLOUD_PROJECT', raising=False)

  args = cli.build_parser().parse_args(['query', '--video', 'a'])
  resources = cli._resources(args)

  assert resources.topic_path == 'projects/viewcounts-local/topics/views'
  assert resources.subscription_path == (
    'projects/viewcounts-local/subscriptions/views-pipeline'
  )
  assert resources.dead_letter_topic_path == (
    'projects/viewcounts-local/topics/views-dead-letter'
  )
  assert resources.dead_letter_subscription_path == (
    'projects/viewcounts-local/subscriptions/views-dead-letter-reader'
  )
  assert (resources.instance, resources.table) == ('viewcounts', 'view_counts')


def test_project_comes_from_the_environment(monkeypatch):
  monkeypatch.setenv('GOOGLE_CLOUD_PROJECT', 'my-project')

  args = cli.build_parser().parse_args(['top'])

  assert args.project == 'my-project'


def test_flags_rename_resources():
  args = cli.build_parser().parse_args(
    ['provision', '--project', 'p1', '--dead-letter-topic', 'dl']
  )

  assert cli._resources(args).dead_letter_subscription_path == (
    'projects/p1/subscriptions/dl-reader'
  )


def test_time_without_zone_is_a_usage_error(capsys):
  with pytest.raises(SystemExit) as raised:
    cli.main(['query', '--video', 'a', '--start', '2026-12-03T18:00:00'])

  assert raised.value.code == 2
  assert 'RFC 3339 time with a zone' in capsys.readouterr().err


def test_bad_message_file_fails_before_publishing(tmp_path, capsys):
  path = tmp_path / 'messages.jsonl'
  path.write_text('{"data": "ok"}\n{"data": 1, "attributes": {"k": 2}}\n')

  assert cli.main(['publish', '--from-file', str(path)]) == 1

  assert capsys.readouterr().err == (
    'viewcounts publish: error: line 2: attributes must map strings to '
    'strings\n'
  )


def test_missing_truth_file_is_an_error(tmp_path, capsys):
  missing = str(tmp_path / 'none.jsonl')

  assert cli.main(['verify', '--truth', missing]) == 1

  assert 'No such file' in capsys.readouterr().err
