"""The committed results of FTP's matched and tuned baselines (docs/results/ftp-baselines.json,
written by ``scripts/reproduce_ftp.py --out results/ftp-baselines --regimes few --runs
ftp,gpt_tuned,gpt_matched_params,gpt_matched_compute,ftp_next``): its statistics are the
analysis of its own per-seed numbers, the strongest GPT was chosen on seeds that are not
reported, and the claims of docs/ftp.md hold on it, paired by seed with Holm's correction
over each regime's table. One of its jobs, rerun here (``paper``), gives its numbers."""

import json
from pathlib import Path

import pytest
from scriptload import load_script

from quadgym.repro import ftp_jobs as jobs
from quadgym.repro.ftp_analysis import summary

ROOT = Path(__file__).resolve().parents[1]
RESULTS = json.loads((ROOT / "docs/results/ftp-baselines.json").read_text())
BASELINES = ("gpt_tuned", "gpt_matched_params", "gpt_matched_compute", "ftp_next")


def regimes():
    return [r for r in jobs.REGIMES if r in RESULTS]


@pytest.mark.parametrize("regime", regimes())
def test_the_summary_is_the_analysis_of_the_per_seed_numbers(regime):
    # compared as JSON: an undefined p-value is NaN, which equals nothing
    again = json.dumps(summary(RESULTS[regime]))
    assert again == json.dumps(RESULTS["summary"][regime])


@pytest.mark.parametrize("regime", regimes())
def test_the_strongest_gpt_was_chosen_on_unreported_seeds_and_held_out_prompts(regime):
    search = RESULTS["search"][regime]
    reported = range(RESULTS["setup"]["seeds"])
    assert set(search["seeds"]).isdisjoint(reported)
    assert search["chosen"] == jobs.choose(search["candidates"])
    assert len(search["candidates"]) == len(jobs.SEARCH) and len(search["seeds"]) == 2
    assert RESULTS[regime]["gpt_tuned"]["steps"] == RESULTS[regime]["ftp"]["steps"]
    for key in BASELINES:
        assert len(RESULTS[regime][key]["success_rate"]) == 5  # five seeds each


@pytest.mark.paper
def test_a_job_rerun_gives_the_committed_numbers():
    """The committed file is what the code computes: seed 0 of ``ftp_next`` on few programs,
    rerun in this process (deterministic, one thread), equals it."""
    args = load_script("reproduce_ftp").Args(
        **{
            k: v
            for k, v in RESULTS["setup"].items()
            if k in ("seeds", "few_steps", "corpus_size", "eval_every", "eval_prompts", "lr")
        }
    )
    plugin, config = jobs.networks(args)["ftp_next"]
    steps = jobs.regime_steps(args, "few", "ftp_next")
    again = jobs.run_job(jobs.job_spec(args, "few", "ftp_next", 0, steps, plugin, config))
    stored = RESULTS["few"]["ftp_next"]
    assert [list(c) for c in again["curve"]] == stored["curve"][0]
    assert again["adjacent_cosine"] == pytest.approx(stored["adjacent_cosine"][0], abs=1e-6)
