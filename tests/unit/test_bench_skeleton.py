"""The skeleton anchor inside ``oms bench``: where ``skeleton_path.py`` is looked for (option,
then environment, then a search upward), its JSON in the bench's shape (from a real run's
output, tests/unit/skeleton_path_quorum.json), and how a run is driven: the arguments it is
given, its output relayed, a failure or a timeout reported without stopping the bench. The
script itself is replaced here by small stand-ins; no RabbitMQ or PostgreSQL is needed."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from oms.bench import skeleton
from oms.bench.skeleton import SCRIPT, find_anchors, run_skeleton, translate
from oms.settings import load_settings

FIXTURE = Path(__file__).with_name("skeleton_path_quorum.json")
REPO = Path(__file__).resolve().parents[2]


def _anchors(directory: Path, body: str = "") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / SCRIPT).write_text(textwrap.dedent(body))
    return directory


def test_the_option_wins_over_the_environment_and_the_search(tmp_path: Path) -> None:
    option, env = _anchors(tmp_path / "opt"), _anchors(tmp_path / "env")
    _anchors(tmp_path / "shared" / "anchors")
    found = find_anchors(option, {"OMS_ANCHORS_DIR": str(env)}, [tmp_path / "repo"])
    assert found.directory == option.resolve()
    assert found.how == f"--anchors {option}"


def test_the_environment_wins_over_the_search(tmp_path: Path) -> None:
    env = _anchors(tmp_path / "env")
    _anchors(tmp_path / "shared" / "anchors")
    found = find_anchors(None, {"OMS_ANCHORS_DIR": str(env)}, [tmp_path / "repo"])
    assert found.directory == env.resolve()
    assert found.how == f"OMS_ANCHORS_DIR={env}"


def test_the_search_finds_shared_anchors_above_a_start(tmp_path: Path) -> None:
    anchors = _anchors(tmp_path / "shared" / "anchors")
    deep = tmp_path / "work" / "main"
    deep.mkdir(parents=True)
    found = find_anchors(None, {}, [Path("/no-such-start/x"), deep])
    assert found.directory == anchors.resolve()
    assert found.how == f"found above {deep}"


def test_a_named_directory_without_the_script_is_not_replaced_by_the_search(
    tmp_path: Path,
) -> None:
    _anchors(tmp_path / "shared" / "anchors")
    found = find_anchors(tmp_path / "empty", {}, [tmp_path / "repo"])
    assert found.directory is None
    assert found.how == f"--anchors {tmp_path / 'empty'}: no skeleton_path.py there"
    found = find_anchors(None, {"OMS_ANCHORS_DIR": "/nowhere"}, [tmp_path / "repo"])
    assert found.directory is None
    assert found.how == "OMS_ANCHORS_DIR=/nowhere: no skeleton_path.py there"


def test_not_found_names_the_option_and_the_environment_variable(tmp_path: Path) -> None:
    clone = tmp_path / "x"  # a clone without ../shared next to it
    clone.mkdir()
    found = find_anchors(None, {"OMS_ANCHORS_DIR": ""}, [clone])
    assert found.directory is None
    assert "pass --anchors DIR or set OMS_ANCHORS_DIR" in found.how
    assert str(clone) in found.how


def test_the_json_in_the_bench_shape() -> None:
    raw = json.loads(FIXTURE.read_text())
    shaped = translate(raw)
    pipelined, at_rate = raw["pipelined"], raw["at_rate"]
    assert shaped["ran"] is True
    assert (shaped["queue"], shaped["synchronous_commit"]) == ("quorum", "on")
    assert shaped["throughput_per_s"] == round(pipelined["orders_per_s"], 1)
    assert shaped["throughput_orders"] == pipelined["orders"]
    cpu_s = pipelined["cpu_s_per_order"]
    assert shaped["cpu_us_per_order"] == pytest.approx({
        "strategy": cpu_s["strategy"] * 1e6, "gateway": cpu_s["gateway"] * 1e6,
        "venue_sim": cpu_s["venue"] * 1e6, "postgres": cpu_s["pg_ours"] * 1e6,
        "rabbitmq": cpu_s["rabbit"] * 1e6,
        "total": sum(cpu_s[k] for k in ("strategy", "gateway", "venue", "pg_ours",
                                        "rabbit")) * 1e6,
    }, abs=0.3)
    assert shaped["postgres_all_cpu_us_per_order"] == pytest.approx(cpu_s["pg_all"] * 1e6,
                                                                    abs=0.1)
    assert shaped["rate_per_s"] == at_rate["rate"]
    for key in ("order_to_wire_us", "end_to_end_us"):
        assert shaped[key] == {k: float(at_rate[key][k]) for k in ("p50", "p90", "p99", "max")}
    assert list(shaped["hops_us"]) == list(at_rate["hops_us"])
    assert shaped["hops_us"]["cons->dbgo"] == {
        "p50": at_rate["hops_us"]["cons->dbgo"]["p50"],
        "p99": at_rate["hops_us"]["cons->dbgo"]["p99"]}


def test_translating_a_json_without_its_figures_fails() -> None:
    raw = json.loads(FIXTURE.read_text())
    del raw["at_rate"]["order_to_wire_us"]
    with pytest.raises(KeyError):
        translate(raw)


# A stand-in for skeleton_path.py: checks the arguments it is given, prints two lines and
# writes the real run's JSON where --json says.
WRITES_THE_FIXTURE = f"""
    import argparse, shutil, sys
    ap = argparse.ArgumentParser()
    for name in ("--queue", "--rate", "--secs", "--n", "--window", "--port", "--vhost", "--json"):
        ap.add_argument(name, required=True)
    a = ap.parse_args()
    print("skeleton path: " + a.queue + " queues")
    print("python " + sys.executable)
    print(f"args {{a.rate}} {{a.secs}} {{a.n}} {{a.window}} {{a.vhost}} {{int(a.port) > 0}}")
    shutil.copy({str(FIXTURE)!r}, a.json)
"""


@pytest.fixture
def vhosts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The vhosts the run would reset (rabbitmqctl is not called in unit tests)."""
    reset: list[str] = []
    monkeypatch.setattr(skeleton, "reset_vhost", lambda state: reset.append(state.vhost))
    return reset


def _run(anchors: Path, tmp_path: Path, **kwargs: Any) -> tuple[dict[str, Any], list[str]]:
    lines: list[str] = []
    settings = load_settings({"OMS_CONFIG": str(REPO / "config" / "oms.toml")})
    section = run_skeleton(settings, anchors=anchors, queue="classic", rate=100.0,
                           seconds=2.5, orders=700, run_dir=tmp_path / "run",
                           echo=lines.append, **kwargs)
    return section, lines


def test_a_run_passes_the_bench_figures_relays_its_output_and_reads_its_json(
    tmp_path: Path, vhosts: list[str],
) -> None:
    anchors = _anchors(tmp_path / "anchors", WRITES_THE_FIXTURE)
    section, lines = _run(anchors, tmp_path)
    assert vhosts == ["skel_anchor"]
    assert "skeleton: skeleton path: classic queues" in lines
    assert "skeleton: args 100 2.5 700 1000 skel_anchor True" in lines
    assert f"skeleton: python {sys.executable}" in lines  # the bench's own Python
    assert section == translate(json.loads(FIXTURE.read_text())) | {
        "anchors_dir": str(anchors.resolve()), "found": f"--anchors {anchors}",
        "command": section["command"]}
    assert section["command"].startswith(f"{SCRIPT} --queue classic --rate 100 --secs 2.5 ")
    assert section["command"].endswith(str((tmp_path / "run" / "skeleton.json").resolve()))


def test_a_failing_run_is_reported_with_its_last_lines(tmp_path: Path,
                                                       vhosts: list[str]) -> None:
    anchors = _anchors(tmp_path / "anchors", """
        import sys
        for i in range(30):
            print(f"line {i}")
        sys.exit("gateway: no AMQP consumer or no FIX logon")
    """)
    section, lines = _run(anchors, tmp_path)
    assert section["ran"] is False
    assert section["reason"] == "skeleton_path.py exited with 1"
    assert section["output_tail"][-1] == "gateway: no AMQP consumer or no FIX logon"
    assert section["output_tail"][0] == "line 11"  # the last 20 lines
    assert "skeleton: not run (skeleton_path.py exited with 1); its last lines:" in lines
    assert lines[-1] == "skeleton:   gateway: no AMQP consumer or no FIX logon"


def test_a_run_over_its_time_is_ended_and_reported(tmp_path: Path, vhosts: list[str]) -> None:
    anchors = _anchors(tmp_path / "anchors", """
        import os, time
        print(f"started {os.getpid()}", flush=True)
        time.sleep(60)
    """)
    section, _ = _run(anchors, tmp_path, timeout_s=1.0)
    assert section["ran"] is False
    assert section["reason"] == "timed out after 1 s"
    [started] = section["output_tail"]
    assert not Path(f"/proc/{started.split()[1]}").exists()  # ended (and reaped)


def test_a_missing_script_skips_the_skeleton_with_the_reason(
    tmp_path: Path, vhosts: list[str],
) -> None:
    section, lines = _run(tmp_path / "nothing", tmp_path)
    reason = f"--anchors {tmp_path / 'nothing'}: no skeleton_path.py there"
    assert section == {"ran": False, "reason": reason}
    assert lines == [f"skeleton: not run ({reason})"]
    assert vhosts == []
