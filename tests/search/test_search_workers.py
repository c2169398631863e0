"""Many processes on one study: resume after a killed process (SQLite), two workers on a SQLite file, and three
workers on a real PostgreSQL server that the test starts on loopback in a temporary folder (skipped where no
PostgreSQL server binary or psycopg2 exists)."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from glob import glob

import pytest

optuna = pytest.importorskip("optuna", reason="hyperparameter search needs Optuna")

from shenjing.search import load_search, search  # noqa: E402
from shenjing.search.study import count_trials, open_study  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


_KILLED = """
import os, signal, sys
import shenjing.search.study as study

real = study.objective_value


def crash(search, params, trial=None, cache=None):
    # the process dies in the middle of trial 2, as a machine that loses power would: no cleanup runs
    if trial is not None and trial.number == 2:
        real(search, params, None, cache)  # some work first
        os.kill(os.getpid(), signal.SIGKILL)
    return real(search, params, trial, cache)


study.objective_value = crash
study.search(sys.argv[1], out_dir=sys.argv[2], save_best=False, plots=False, progress=False)
"""


def test_resume_after_a_killed_process(search_doc, tmp_path):
    from shenjing.search.toml_out import dumps

    doc = search_doc(trials=4)
    config = tmp_path / "c.toml"
    config.write_text(dumps(doc))
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    process = subprocess.run([sys.executable, "-c", _KILLED, str(config), str(out)], env=env, timeout=300)
    assert process.returncode == -signal.SIGKILL
    url = "sqlite:///" + str(out / "study.db")
    before = optuna.load_study(study_name="tiny", storage=url).get_trials()
    assert [t.state.name for t in before] == ["COMPLETE", "COMPLETE", "RUNNING"]
    killed = before[2]
    result = search(str(config), out_dir=str(out), save_best=False, plots=False, progress=False)
    states = [t["state"] for t in result.trials]
    assert states == ["COMPLETE", "COMPLETE", "FAIL", "COMPLETE", "COMPLETE"]
    assert [t["value"] for t in result.trials[:2]] == [t.value for t in before[:2]]  # kept, not run again
    finished = [t for t in result.trials if t["state"] != "FAIL"]
    assert len(finished) == 4  # none lost, none run twice
    retry = result.trials[3]
    assert retry["user_attrs"]["retry_of"] == 2 and retry["params"] == killed.params
    assert count_trials(open_study(load_search(str(config)), url, "tiny", "maximize")) == 4


def test_two_workers_share_a_sqlite_study(search_doc, tmp_path):
    doc = search_doc(trials=4)
    doc["train"]["epochs"] = 1
    result = search(doc, workers=2, out_dir=str(tmp_path), save_best=False, plots=False, progress=False)
    assert len(result.trials) == 4
    assert sorted(t["number"] for t in result.trials) == [0, 1, 2, 3]
    assert len({t["params"]["optimizer.lr"] for t in result.trials}) == 4
    assert all(t["state"] == "COMPLETE" for t in result.trials)


def _postgres_bin(name):
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob(f"/usr/lib/postgresql/*/bin/{name}")) + sorted(glob(f"/usr/local/pgsql/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def postgres_url():
    """A PostgreSQL cluster of our own in a temporary folder, on a free loopback port; stopped and removed after."""
    pytest.importorskip("psycopg2", reason="PostgreSQL storage needs psycopg2 (pip install psycopg2-binary)")
    initdb, pg_ctl = _postgres_bin("initdb"), _postgres_bin("pg_ctl")
    if not initdb or not pg_ctl or not _postgres_bin("postgres"):
        pytest.skip("no PostgreSQL server binary (initdb, pg_ctl, postgres) on this machine")
    prefix: list = []
    folder = tempfile.mkdtemp(prefix="shenjing-pg-")
    if os.geteuid() == 0:  # the server refuses to run as root: run it as an unprivileged user
        import pwd

        user = next((u for u in ("postgres", "nobody") if _has_user(u)), None)
        runuser = shutil.which("runuser")
        if user is None or runuser is None:
            pytest.skip("running as root, and no unprivileged user to run PostgreSQL as")
        record = pwd.getpwnam(user)
        os.chown(folder, record.pw_uid, record.pw_gid)
        prefix = [runuser, "-u", user, "--"]
    data, port = os.path.join(folder, "data"), _free_port()
    try:
        subprocess.run(
            [*prefix, initdb, "-D", data, "-A", "trust", "-U", "shenjing", "--no-sync"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        options = f"-k {folder} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            [*prefix, pg_ctl, "-D", data, "-o", options, "-l", os.path.join(folder, "log"), "-w", "start"],
            check=True,
            capture_output=True,
            timeout=120,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"could not start a PostgreSQL cluster: {getattr(error, 'stderr', error)!r}")
    try:
        yield f"postgresql+psycopg2://shenjing@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", data, "-m", "fast", "-w", "stop"], capture_output=True, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


def _has_user(name):
    import pwd

    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def test_three_workers_share_a_postgres_study(search_doc, tmp_path, postgres_url):
    doc = search_doc(trials=6)
    doc["train"]["epochs"] = 1
    result = search(
        doc,
        workers=3,
        storage=postgres_url,
        study_name="pg",
        out_dir=str(tmp_path),
        save_best=False,
        plots=False,
        progress=False,
    )
    assert sorted(t["number"] for t in result.trials) == list(range(6))  # split among the workers, none extra
    assert all(t["state"] == "COMPLETE" for t in result.trials)
    assert len({t["params"]["optimizer.lr"] for t in result.trials}) == 6  # none run twice
    # another process (as another machine would) joins the same study by naming the database
    more = search(
        doc,
        trials=8,
        storage=postgres_url,
        study_name="pg",
        out_dir=str(tmp_path / "b"),
        save_best=False,
        plots=False,
        progress=False,
    )
    assert len(more.trials) == 8
    assert not os.path.exists(tmp_path / "study.db")  # nothing went to the default SQLite file
