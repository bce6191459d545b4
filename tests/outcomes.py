"""What an interrupted and resumed sweep must share with an uninterrupted one
(test_resume.py, test_stop.py)."""

import os

import numpy as np

from rnnjax import results


def outcome(workdir):
  """(summary, {(uid, step, split, metric): value}) of a finished sweep; no metric
  record may be repeated."""
  summary = results.read_json(os.path.join(workdir, results.SUMMARY))
  records = results.read_metrics(os.path.join(workdir, results.METRICS))
  keys = [(r['uid'], r['step'], r['split'], r['metric']) for r in records]
  assert len(keys) == len(set(keys)), 'duplicated metric records'
  return summary, {k: r['value'] for k, r in zip(keys, records)}


def assert_same(a, b):
  """Every metric record, the ranking, each member's status, best step and validation
  score, and the best member's test score agree (rtol 1e-6)."""
  (sa, ra), (sb, rb) = a, b
  assert ra.keys() == rb.keys()
  np.testing.assert_allclose([ra[k] for k in ra], [rb[k] for k in ra], rtol=1e-6)
  assert sa['ranking'] == sb['ranking']
  for ma, mb in zip(sa['members'], sb['members']):
    assert (ma['uid'], ma['status'], ma['best_step']) == (mb['uid'], mb['status'],
                                                         mb['best_step'])
    np.testing.assert_allclose(ma['val']['mse'], mb['val']['mse'], rtol=1e-6)
  np.testing.assert_allclose(sa['best']['test']['rmse'], sb['best']['test']['rmse'],
                             rtol=1e-6)
