"""The comparison's command line: flags it does not take, and bad settings, are one
line, exit status 2, nothing written."""

from absl import flags
import pytest

from experiments import population_sweep
from experiments import search_comparison
from rnnjax.engine import sharding

BAD_INPUT = [
    (['--dry_run'], 'error: --dry_run: not taken by search_comparison (a comparison '
     'trains every sweep'),
    (['--num_seeds=2'], 'error: --num_seeds: not taken by search_comparison'),
    (['--mlflow_uri=sqlite:///m.db'], 'error: --mlflow_uri: not taken by search_comparison'),
    (['--strategies=grid,bayes'], "error: --strategies: 'bayes'; expected some of"),
    (['--space=hidden_size=8:64'], "error: --space: 'hidden_size' is not a searchable"),
    (['--search_seeds='], 'error: --search_seeds: name at least one seed'),
    (['--compile_cache_dir=/proc/rnnjax-none'], 'error: --compile_cache_dir: cannot write'),
]


@pytest.mark.parametrize('args, message', BAD_INPUT, ids=[m for _, m in BAD_INPUT])
def test_bad_input_is_one_line_exit_2_nothing_written(tmp_path, args, message, capsys,
                                                      monkeypatch):
  monkeypatch.setattr(sharding, 'configure_cpu_devices', lambda _: None)  # JAX is up.
  flags.FLAGS.unparse_flags()
  try:
    argv = population_sweep.parse_flags([
        'search_comparison', '--dataset=shampoo_sales', '--lookback=4',
        f'--workdir={tmp_path / "wd"}', *args])
    search_comparison.main(argv)
    code = 0
  except SystemExit as e:
    code = e.code
  finally:
    flags.FLAGS.unparse_flags()
  stderr = capsys.readouterr().err
  assert code == 2, stderr
  lines = [l for l in stderr.splitlines() if l.strip()]
  assert len(lines) == 1 and lines[0].startswith(message), stderr
  assert not (tmp_path / 'wd').exists()
