"""Validation on every core: forked children do part of the work, and nothing a user sees depends on it.

`raygitops validate -j N` decodes, checks and locates a long bundle in N processes; the report, the
lines and the exit code are those of `-j 1`, also when a document deep in a child's shard sends the
whole stream back to the reference decoder, and also when a child dies.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from raygitops.engine import Options, checker
from raygitops.inputs.documents import load_stream
from raygitops.inputs.sources import load_paths
from raygitops.parallel import map_shards, shard_bounds
from tests.rules.cases import CASES

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))
from bench_validate import generate_bundle  # noqa: E402

# Runs `raygitops validate` in this interpreter and reports, on stderr, how many children it forked:
# the count shows the run really went parallel (a run of one process would give the same report).
COUNTING_FORKS = """\
import os, sys
from raygitops.cli import main
forks = 0
real_fork = os.fork
def counted_fork():
    global forks
    pid = real_fork()
    if pid:
        forks += 1
    return pid
os.fork = counted_fork
code = main(sys.argv[1:])
sys.stdout.flush()
print(f"forks={forks}", file=sys.stderr)
sys.exit(code)
"""


def validate(args: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], int]:
    result = subprocess.run(
        [sys.executable, "-c", COUNTING_FORKS, "validate", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    forks = int(result.stderr.rsplit("forks=", 1)[1]) if "forks=" in result.stderr else -1
    return result, forks


@pytest.fixture
def env(schema_cache_dir: Path) -> dict[str, str]:
    return os.environ | {"RAYGITOPS_CACHE_DIR": str(schema_cache_dir)}


def bundle_text(count: int) -> str:
    return yaml.safe_dump_all(generate_bundle(count), sort_keys=False)


def test_several_cores_report_exactly_what_one_reports(tmp_path, env):
    path = tmp_path / "bundle.yaml"
    path.write_text(bundle_text(2000))
    alone, forks_alone = validate(["-j", "1", "-o", "json", str(path)], env)
    shared, forks_shared = validate(["-j", "3", "-o", "json", str(path)], env)
    assert forks_alone == 0
    assert forks_shared >= 4  # two children for decoding and checking, two for the rules, and for the lines
    assert shared.stdout == alone.stdout and shared.returncode == alone.returncode == 0
    report = json.loads(shared.stdout)
    assert report["summary"]["resources"] == 2000
    assert report["summary"]["warnings"] == 400 and all(f["line"] for f in report["findings"])


def test_every_rule_fixture_in_one_long_bundle_reports_the_same_on_one_core_and_on_three(tmp_path, env):
    """Every rule's fixtures, three times over in one stream: a rule that kept a note of what it found in
    one document (to report something once per bundle, say) would report differently once the documents
    are checked in three processes."""
    fixtures = [
        text
        for case in CASES.values()
        for text in (case.passing, case.failing)
        if not load_stream(text, "fixture.yaml")[1]  # decoding findings end a stream: those stay alone
    ]
    path = tmp_path / "fixtures.yaml"
    path.write_text("---\n".join(fixtures * 3))
    alone, _ = validate(["-j", "1", "--complete", "-o", "json", str(path)], env)
    shared, forks = validate(["-j", "3", "--complete", "-o", "json", str(path)], env)
    assert forks >= 2
    assert shared.stdout == alone.stdout and shared.returncode == alone.returncode
    found = {f["rule"] for f in json.loads(shared.stdout)["findings"]}
    assert len(found) >= 50  # not an empty comparison: findings of many rules (90 today)


def test_a_document_deep_in_a_childs_shard_that_needs_the_reference_decoder(tmp_path, env):
    """A duplicate key near the end: the child says so after this process has let go of the file's
    text, so the file is read again and the finding is the reference decoder's, at its line."""
    text = bundle_text(600)
    documents = text.split("\n---\n")
    documents[590] = documents[590].replace("metadata:\n", "metadata:\n  name: first\n", 1)
    path = tmp_path / "bundle.yaml"
    path.write_text("\n---\n".join(documents))
    alone, _ = validate(["-j", "1", "-o", "json", str(path)], env)
    shared, forks = validate(["-j", "2", "-o", "json", str(path)], env)
    assert forks >= 1
    assert shared.stdout == alone.stdout and shared.returncode == alone.returncode == 1
    reference = [f for f in load_stream(path.read_bytes(), str(path))[1] if f.severity.value == "error"]
    reported = [f for f in json.loads(shared.stdout)["findings"] if f["rule"] == reference[0].rule]
    assert [(f["index"], f["line"]) for f in reported] == [(reference[0].index, reference[0].line)]


def test_checked_where_decoded_equals_checked_by_the_engine(tmp_path, schema_store):
    """In-process: the documents a child decoded and checked come back defaulted, with their findings."""
    path = tmp_path / "bundle.yaml"
    path.write_text(bundle_text(1000).replace("port: 8265", "port: 70000"))  # each Service: out of range
    options = Options(jobs=2)
    checked = load_paths([str(path)], jobs=2, check=checker(schema_store, options))[0]
    plain = load_paths([str(path)])[0]
    found = {d.index: checker(schema_store, options)(d) for d in plain.documents}
    assert checked.checked is not None and len(checked.checked) == 200
    assert checked.checked == {index: findings for index, findings in found.items() if findings}
    assert [d.body for d in checked.documents] == [d.body for d in plain.documents]
    assert checked.documents[996].body["spec"]["workerGroupSpecs"][0]["maxReplicas"] == 2147483647  # in a child


def test_jobs_must_be_a_positive_number(tmp_path, env):
    path = tmp_path / "one.yaml"
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    result, _ = validate(["-j", "0", str(path)], env)
    assert result.returncode == 2
    assert "--jobs: expected a whole number of at least 1, got '0'" in result.stderr


# --- the shards themselves ---------------------------------------------------------------------


def test_shards_are_contiguous_cover_everything_and_respect_the_smallest_size():
    assert shard_bounds(1000, 3, 100) == [(0, 333), (333, 666), (666, 1000)]
    assert shard_bounds(250, 4, 100) == [(0, 125), (125, 250)]
    assert shard_bounds(99, 8, 100) == [(0, 99)]
    assert shard_bounds(0, 2, 100) == [(0, 0)]


def pids_and_sums(shard: list[int]) -> tuple[int, int]:
    return os.getpid(), sum(shard)


def test_shards_after_the_first_run_in_children_and_come_back_in_order():
    results = map_shards(list(range(900)), pids_and_sums, jobs=3, min_shard=100)
    pids = [pid for pid, _ in results]
    assert pids[0] == os.getpid() and len(set(pids)) == 3
    assert [total for _, total in results] == [sum(range(0, 300)), sum(range(300, 600)), sum(range(600, 900))]


@pytest.mark.parametrize("failure", ["exit", "signal", "exception", "unpicklable"])
def test_a_failing_child_costs_time_not_results(failure):
    parent = os.getpid()

    def work(shard: list[int]) -> object:
        if os.getpid() != parent and shard[0] == 300:
            if failure == "exit":
                os._exit(3)
            if failure == "signal":
                os.kill(os.getpid(), signal.SIGKILL)
            if failure == "exception":
                raise RuntimeError("a bug in a check")
            return lambda: None  # pickle refuses a lambda
        return os.getpid(), sum(shard)

    results = map_shards(list(range(900)), work, jobs=3, min_shard=100)
    assert results[1] == (parent, sum(range(300, 600)))  # run again here
    assert results[2] != (parent, sum(range(600, 900))) and results[2][1] == sum(range(600, 900))


def test_nothing_is_forked_while_another_thread_runs():
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        results = map_shards(list(range(900)), pids_and_sums, jobs=3, min_shard=100)
    finally:
        stop.set()
        other.join()
    assert results == [(os.getpid(), sum(range(900)))]
