import threading
import time

import pytest

from flows.guards import RestartLimitError, check_restart_budget, experiment_lock
from trainer.errors import ExperimentLockedError


class TestRestartBudget:
    @pytest.mark.parametrize("run_count,max_restarts", [(1, 0), (3, 2), (6, 5)])
    def test_runs_within_the_budget_pass(self, run_count, max_restarts):
        check_restart_budget(run_count, max_restarts)

    def test_one_start_too_many_fails_with_the_fix(self):
        with pytest.raises(
            RestartLimitError,
            match=r"'r' has started 7 times, more than "
            r"max_restarts=5 .*trainflow resume",
        ):
            check_restart_budget(7, 5, "'r'")


class TestExperimentLock:
    def test_second_holder_is_refused_with_the_first_ones_name(self, tmp_path):
        with experiment_lock(str(tmp_path), owner="run A"):
            with pytest.raises(ExperimentLockedError, match=r"in use by run 'run A'"):
                with experiment_lock(str(tmp_path), owner="run B"):
                    pytest.fail("two holders at once")
        with experiment_lock(str(tmp_path), owner="run B") as held:  # released on exit
            assert held.lease.held

    def test_a_waiting_run_gets_the_lock_when_the_holder_finishes(self, tmp_path):
        acquired = threading.Event()

        def holder():
            with experiment_lock(str(tmp_path), owner="run A"):
                acquired.set()
                time.sleep(1.0)

        thread = threading.Thread(target=holder)
        thread.start()
        acquired.wait(10)
        start = time.monotonic()
        with experiment_lock(str(tmp_path), owner="run B", wait_s=30):
            waited = time.monotonic() - start
        thread.join()
        assert 0.3 < waited < 10

    def test_renewal_keeps_an_expiring_lease_alive(self):
        url = "memory://trainflow-guards-test/exp"
        with experiment_lock(url, owner="run A", ttl=0.6) as held:
            time.sleep(1.5)  # more than twice the ttl: only renewals keep it
            with pytest.raises(ExperimentLockedError, match="run A"):
                with experiment_lock(url, owner="run B"):
                    pass
            held.check(0)  # not lost
