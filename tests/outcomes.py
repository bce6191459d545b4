"""What an interrupted and resumed sweep must share with an uninterrupted one
(test_resume.py, test_stop.py)."""

import os

import numpy as np

from rnnjax.results import evaluations
from rnnjax.results import files


def outcome(workdir, *, repeats=False):
  """(summary, {(uid, step, split, metric): value}) of a finished sweep; no metric
  record may be repeated. With `repeats`: {key: (every value written under it, in the
  order written; None as NaN)}, for sweeps that write some records more than once."""
  summary = files.read_json(os.path.join(workdir, files.SUMMARY))
  records = evaluations.read_metrics(os.path.join(workdir, files.METRICS))
  keys = [(r['uid'], r['step'], r['split'], r['metric']) for r in records]
  if repeats:
    values = {}
    for k, r in zip(keys, records):
      values.setdefault(k, []).append(np.nan if r['value'] is None else r['value'])
    return summary, {k: tuple(v) for k, v in values.items()}
  assert len(keys) == len(set(keys)), 'duplicated metric records'
  return summary, {k: r['value'] for k, r in zip(keys, records)}


def assert_same(a, b):
  """Every metric record, the ranking, each member's status, best step and validation
  score, and the best member's test score agree (rtol 1e-6)."""
  (sa, ra), (sb, rb) = a, b
  assert ra.keys() == rb.keys()
  assert [np.size(ra[k]) for k in ra] == [np.size(rb[k]) for k in ra]
  flat = lambda r: [v for k in ra for v in np.ravel(r[k])]
  np.testing.assert_allclose(flat(ra), flat(rb), rtol=1e-6)
  assert sa['ranking'] == sb['ranking']
  for ma, mb in zip(sa['members'], sb['members']):
    assert (ma['uid'], ma['status'], ma['best_step']) == (mb['uid'], mb['status'],
                                                         mb['best_step'])
    np.testing.assert_allclose(ma['val']['mse'], mb['val']['mse'], rtol=1e-6)
  np.testing.assert_allclose(sa['best']['test']['rmse'], sb['best']['test']['rmse'],
                             rtol=1e-6)
