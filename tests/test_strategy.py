"""strategy.py: any search's decision records carried out on a real population by one
function, and every adaptive search named where the sweep finds its decisions."""

import numpy as np

from rnnjax.engine import gather
from rnnjax.engine import sharding
from rnnjax.search import hparams
from rnnjax.search import planner
from rnnjax.search import waves
from rnnjax.search.strategies import decision
from rnnjax.search.strategies import lineage
from rnnjax.search.strategies import strategy
from tests import tiny_population as tiny


def test_every_adaptive_search_has_its_decisions():
  assert sorted(strategy.DECIDES) == sorted(planner.ADAPTIVE)


def test_apply_copies_then_retires_the_rows_not_kept_as_the_gathers_do(trained):
  """A decision that both copies and retires (no search makes one yet): the copies
  first, then the rows not kept retire as copied and the rest are gathered."""
  state, hp, _, _ = trained
  mesh = sharding.population_mesh()
  shard = sharding.members_sharding(mesh)
  uids = np.asarray(hp.uid)
  run = waves.Run(bucket=2, cfg=tiny.CFG, uids=tuple(int(u) for u in uids), hp=hp,
                  state=state)
  table = strategy.Table(*(np.zeros(tiny.P),) * 2, uids, np.zeros(tiny.P))
  before = strategy.SearchState(tables={0: table, 1: table})
  src, keep = np.array([0, 0, 2, 2, 4, 5]), np.array([1, 1, 0, 1, 0, 1], bool)
  values = {'learning_rate': np.linspace(1e-3, 6e-3, tiny.P)}
  seen = []

  def retire(run, rows, why):
    seen.append((run.state, rows.tolist(), why))
    return [{'uid': int(run.uids[i])} for i in rows]

  after, runs, records = strategy.apply(
      {0: decision.Decision(src, values, keep, 'cut at 4')}, before, [run], 4,
      retire=retire, mesh=mesh)
  copied, copied_hp = gather.exploit(state, hp, src, sharding=shard)
  copied_hp = gather.set_fields(copied_hp, hparams.replaced(
      copied_hp, values, np.asarray(copied_hp.dropout_rates)), sharding=shard)
  want = gather.compact_members(copied, copied_hp, keep, multiple=mesh.size,
                                sharding=shard)[:2]
  tiny.assert_equal((runs[0].state, runs[0].hp), want)
  assert runs[0].uids[:4] == tuple(int(u) for u in uids[[0, 1, 3, 5]])
  assert [(rows, why) for _, rows, why in seen] == [([2, 4], 'cut at 4')]
  tiny.assert_equal(seen[0][0], copied)
  assert sorted(after.retired) == uids[[2, 4]].tolist() and list(after.tables) == [1]
  assert records == lineage.records(uids, uids[src], 4, values, bucket=2)
  assert after.copies == (lineage.copies_of(uids, uids[src], 4, values),)
  # Kept rows only: an empty keep ends the run, its members retired.
  after, runs, _ = strategy.apply(
      {0: decision.Decision(keep=np.zeros(tiny.P, bool), why='all')}, before, [run], 4,
      retire=retire, mesh=mesh)
  assert runs[0].state is None and runs[0].uids == () and len(after.retired) == tiny.P
