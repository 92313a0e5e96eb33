"""Lets the DirectRunner look up each DoFn class's state and timers once.

Beam 2.77's DirectRunner starts every bundle by asking whether its DoFn is
stateful, which inspects the signature of every method of the DoFn (with
``inspect.signature``), and asks again while building the bundle's
DoFnRunner. A streaming run has many small bundles, one per key that fires
in a keyed step, so a profile of a local run put about a fifth of its time
in these look-ups. The answer depends only on the methods' parameter
defaults, which belong to the DoFn's class, so this remembers it per class.

Wrappers of plain callables (``beam.Map`` and friends) take their
parameters from the function they wrap, so their answer is remembered per
wrapped function's code instead; the runner unpickles a fresh copy of the
function for every bundle, and code compares by its content. Callables
without code of their own (builtins, partials) are looked up every time.
Like the other DirectRunner fixes, this applies to local runs only and is
a no-op once applied.
"""

import functools

from apache_beam.runners.direct import transform_evaluator
from apache_beam.transforms import core, userstate

_PATCHED = '_viewcounts_specs_per_class'


def look_up_dofn_specs_once_per_class() -> None:
  get_dofn_specs = userstate.get_dofn_specs
  if getattr(get_dofn_specs, _PATCHED, False):
    return
  specs_by_class = {}

  @functools.wraps(get_dofn_specs)
  def get_dofn_specs_of_class(dofn):
    key = type(dofn)
    if isinstance(dofn, core.CallableWrapperDoFn):
      key = getattr(dofn._process_argspec_fn(), '__code__', None)
      if key is None:
        return get_dofn_specs(dofn)
    if key not in specs_by_class:
      specs_by_class[key] = get_dofn_specs(dofn)
    return specs_by_class[key]

  setattr(get_dofn_specs_of_class, _PATCHED, True)
  # is_stateful_dofn and validate_stateful_dofn call it through the module;
  # the evaluator imported its own reference.
  userstate.get_dofn_specs = get_dofn_specs_of_class
  transform_evaluator.get_dofn_specs = get_dofn_specs_of_class
