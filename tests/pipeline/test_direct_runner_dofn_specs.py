"""The DirectRunner fix that looks up a DoFn class's state and timers once."""

import apache_beam as beam
from apache_beam.runners import common
from apache_beam.runners.direct import transform_evaluator
from apache_beam.transforms import userstate
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec

from pipeline.direct_runner_dofn_specs import look_up_dofn_specs_once_per_class

SEEN = ReadModifyWriteStateSpec('seen', beam.coders.VarIntCoder())


def count_inspections(monkeypatch) -> list:
  """Records each method Beam's own look-up inspects."""
  inspected = []
  method_wrapper = common.MethodWrapper

  def recording(dofn, method_name):
    inspected.append(method_name)
    return method_wrapper(dofn, method_name)

  monkeypatch.setattr(common, 'MethodWrapper', recording)
  return inspected


def test_a_class_is_inspected_once_with_beams_answer(monkeypatch):
  class StatefulFn(beam.DoFn):
    def process(self, element, seen=beam.DoFn.StateParam(SEEN)):
      yield element

  look_up_dofn_specs_once_per_class()
  look_up_dofn_specs_once_per_class()  # a second call changes nothing
  assert transform_evaluator.get_dofn_specs is userstate.get_dofn_specs
  inspected = count_inspections(monkeypatch)

  assert userstate.get_dofn_specs(StatefulFn()) == ({SEEN}, set())
  assert 'process' in inspected
  inspected.clear()
  assert userstate.is_stateful_dofn(StatefulFn())
  assert userstate.get_dofn_specs(StatefulFn()) == ({SEEN}, set())
  assert inspected == []


def test_a_wrapped_function_is_inspected_once_per_code(monkeypatch):
  look_up_dofn_specs_once_per_class()
  inspected = count_inspections(monkeypatch)

  def make_fn():
    return lambda element: element

  assert userstate.get_dofn_specs(beam.Map(make_fn()).dofn) == (set(), set())
  assert inspected
  inspected.clear()
  # Another function object of the same code, as unpickling makes.
  assert userstate.get_dofn_specs(beam.Map(make_fn()).dofn) == (set(), set())
  assert inspected == []


def test_a_wrapped_builtin_is_inspected_every_time(monkeypatch):
  look_up_dofn_specs_once_per_class()
  inspected = count_inspections(monkeypatch)
  for _ in range(2):
    inspected.clear()
    assert userstate.get_dofn_specs(beam.Map(str).dofn) == (set(), set())
    assert inspected
