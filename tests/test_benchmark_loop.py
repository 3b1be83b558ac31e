"""``tools/benchmark.py loop``: the writer's loop timed on a project whose Snakemake is a stand-in script; the
template is always left as it was, the reruns' jobs are read from benchmarks/, and bad input fails early."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kit.cli import PipelineError
from kit.io import read_json
from tools import benchmark

PHRASE = "Think of an image"

#: A stand-in for Snakemake: the "page" is the template's text. A dry run says whether the page is up to date;
#: a run rebuilds it and writes the rule's benchmark file. FAIL_ON_RUN=n (a file) makes the n-th run fail.
FAKE_SNAKEMAKE = r"""
import sys, time
from pathlib import Path

template, page = Path("templates/page.html.j2"), Path("results/page.html")
counter = Path("runs.txt")
if "-n" in sys.argv:
    fresh = page.is_file() and page.read_text() == template.read_text()
    print("Nothing to be done (all requested files are present and up to date)." if fresh else "Job stats: 1 job")
    sys.exit(0)
runs = int(counter.read_text()) + 1 if counter.is_file() else 1
counter.write_text(str(runs))
fail = Path("fail-on-run.txt")
if fail.is_file() and int(fail.read_text()) == runs:
    print("rule report_html failed", file=sys.stderr)
    sys.exit(1)
page.parent.mkdir(exist_ok=True)
page.write_text(template.read_text())
bench = Path("benchmarks/report_html/page.tsv")
bench.parent.mkdir(parents=True, exist_ok=True)
bench.write_text("s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
                 "0.25\t0:00:00\t50.1\t60\t40\t45\t0\t0\t0\t0.2\n")
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project whose page is up to date with its template."""
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "page.html.j2").write_text(f"<p>{PHRASE} as a point.</p>\n", encoding="utf-8")
    (tmp_path / "fake_snakemake.py").write_text(FAKE_SNAKEMAKE, encoding="utf-8")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "page.html").write_text(f"<p>{PHRASE} as a point.</p>\n", encoding="utf-8")
    return tmp_path


def loop(project: Path, *flags: str) -> None:
    """Run the subcommand on ``project`` with the stand-in Snakemake."""
    benchmark.main(
        ["loop", "--workdir", str(project), "--template", "templates/page.html.j2", "--find", PHRASE,
         "--replace", "Think of each image", "--dry-runs", "2", "--snakemake", sys.executable,
         str(project / "fake_snakemake.py"), *flags]
    )  # fmt: skip


def runs(project: Path) -> int:
    """How many runs (not dry runs) the stand-in made."""
    return int((project / "runs.txt").read_text())


def test_edits_are_timed_with_their_jobs_and_the_template_is_left_as_it_was(project: Path, capsys) -> None:
    template = project / "templates" / "page.html.j2"
    before = template.read_bytes()
    loop(project, "--edits", "2", "--output", str(project / "loop.json"))
    assert template.read_bytes() == before and runs(project) == 2
    result = read_json(project / "loop.json")
    assert [row["edit"] for row in result["edits"]] == [1, 2]
    assert all(row["jobs_s"] == {"report_html/page": 0.25} for row in result["edits"])
    assert len(result["dry_runs_s"]) == 2 and result["passed"] == {"edits": True, "dry_run": True}
    assert "edit rerun:" in capsys.readouterr().out


def test_an_odd_number_of_edits_rebuilds_the_page_for_the_template_put_back(project: Path) -> None:
    template = project / "templates" / "page.html.j2"
    before = template.read_text(encoding="utf-8")
    loop(project, "--edits", "3")
    assert template.read_text(encoding="utf-8") == before
    assert runs(project) == 4, "three timed runs and one untimed rebuild"
    assert (project / "results" / "page.html").read_text(encoding="utf-8") == before


def test_a_failed_run_puts_the_template_back_and_says_so(project: Path) -> None:
    template = project / "templates" / "page.html.j2"
    before = template.read_bytes()
    (project / "fail-on-run.txt").write_text("2")
    with pytest.raises(PipelineError, match=r"(?s)failed in .*page.html.j2 is as it was again"):
        loop(project, "--edits", "3")
    assert template.read_bytes() == before


def test_a_missed_target_fails_after_writing_the_numbers(project: Path) -> None:
    with pytest.raises(PipelineError, match=r"missed its target.*edits"):
        loop(project, "--edits", "1", "--max-edit-seconds", "0.000001", "--output", str(project / "loop.json"))
    assert read_json(project / "loop.json")["passed"]["edits"] is False


def test_bad_input_fails_before_anything_changes(project: Path) -> None:
    template = project / "templates" / "page.html.j2"
    before = template.read_bytes()
    template.write_text(f"<p>{PHRASE}, {PHRASE}</p>\n", encoding="utf-8")
    (project / "results" / "page.html").write_text(template.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(PipelineError, match=r"found 2 times in .*page\.html\.j2, not once"):
        loop(project)
    template.write_bytes(before)
    with pytest.raises(PipelineError, match="has jobs to do; run it first"):
        loop(project)  # the page no longer matches the template
    assert not (project / "runs.txt").exists(), "nothing was run"
    with pytest.raises(PipelineError, match=r"--template templates/nope\.j2: not found"):
        benchmark.main(["loop", "--workdir", str(project), "--template", "templates/nope.j2", "--find", "x",
                        "--replace", "y"])  # fmt: skip
