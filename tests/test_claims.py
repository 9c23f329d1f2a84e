"""The claims the chapters assert about training, run over the seeds they promise.

CI runs each claim on its ``ci_seeds`` (a documented subset where all five seeds cost too much;
``python -m fdiv.course.claims --list`` shows them); ``make test-claims`` runs every seed
(``FDIV_CLAIM_SEEDS=all`` here does the same inside pytest).  The first tests check the machinery:
a claim made false fails, a subset that fails proves the full claim false, the same seed gives the same
figures in a child process as here, and the committed record is complete, fresh and holds.
"""
from __future__ import annotations

import math
import os
import re
from pathlib import Path

import pytest

from fdiv.course import claims
from fdiv.course.claims import Claim, Sweep

ROOT = Path(__file__).resolve().parents[1]
SEED_SET = os.environ.get("FDIV_CLAIM_SEEDS", "ci")
# make test runs these tests beside the rest of the suite, one seed at a time (FDIV_CLAIM_WORKERS=1)
WORKERS = int(os.environ.get("FDIV_CLAIM_WORKERS", "0")) or None


def _toy(quorum=None, seeds=(0, 1, 2, 3, 4), bad=(), name="toy"):
    return Claim(name, "00", "the seed is not bad.", lambda s, fast: {"seed": s, "x": float(s) ** 2},
                 lambda f: f["seed"] not in bad, seeds=seeds, quorum=quorum)


def test_every_seed_claim_fails_on_one_bad_seed():
    ok = claims.sweep(_toy(), progress=False, workers=1)
    assert ok.holds and ok.check() is ok
    bad = claims.sweep(_toy(bad=(3,)), progress=False, workers=1)
    assert not bad.holds and bad.failed == (3,)
    with pytest.raises(AssertionError, match=r"toy: FAILS on 4 of 5 seeds \(0-4\), fails on seed 3;"):
        bad.check()


def test_quorum_allows_that_many_failures_and_subsets_are_necessary_conditions():
    c = _toy(quorum=3, bad=(1, 4))
    assert c.allowed_failures == 2 and claims.sweep(c, progress=False, workers=1).holds
    assert not claims.sweep(_toy(quorum=3, bad=(0, 1, 4)), progress=False, workers=1).holds
    # a subset passes while at most 2 of its seeds fail; one with 3 failures refutes the claim
    assert claims.sweep(_toy(quorum=3, bad=(0, 1)), (0, 1), progress=False, workers=1).holds
    assert not claims.sweep(_toy(quorum=3, bad=(0, 1, 2)), (0, 1, 2), progress=False, workers=1).holds


def test_ranges_leave_out_nan_and_report_it():
    s = Sweep(_toy(), {0: {"a": 1.0}, 1: {"a": 3.0}, 2: {"a": math.nan}})
    r = s.ranges()["a"]
    assert (r["mean"], r["min"], r["max"], r["missing"]) == (2.0, 1.0, 3.0, 1) and r["std"] == 1.0


def test_figures_must_be_flat_and_json_safe():
    c = Claim("nested", "00", "", lambda s, fast: {"a": [1, 2]}, lambda f: True)
    with pytest.raises(TypeError, match="flat dict"):
        claims.run_one(c, 0)


def test_every_registered_claim_is_well_formed():
    assert claims.names(), "no claims registered"
    for c in claims.CLAIMS.values():
        assert re.fullmatch(r"\d\d", c.chapter) and c.statement.endswith(".")
        assert 1 <= c.needed <= len(c.seeds) and set(c.seeds) == set(claims.SEEDS)
        for subset in (c.ci_seeds, c.book_seeds):
            assert subset is None or set(subset) <= set(c.seeds)
        if c.asserted:  # a subset no larger than the failures allowed could never fail
            assert len(c.ci_seeds or c.seeds) > c.allowed_failures, c.name


def test_a_chapter_that_asserts_training_uses_its_claims():
    """Each claim is verified by the chapter it belongs to, and nowhere else."""
    for c in claims.CLAIMS.values():
        src = next((ROOT / "book" / "src").glob(f"{c.chapter}_*.py")).read_text()
        assert f'"{c.name}"' in src, f"chapter {c.chapter} never verifies {c.name}"


def test_the_record_is_complete_fresh_and_holds():
    record = claims.read_record()
    assert record.get("machine", {}).get("torch"), "record.json names no machine"
    for name, c in claims.CLAIMS.items():
        rec = claims.recorded(name)
        assert rec is not None, f"{name}: no record, or a stale one (run make test-claims)"
        assert sorted(rec.rows) == sorted(c.seeds) and not rec.fast
        assert rec.holds, rec.verdict_line()


@pytest.mark.parametrize("name, trains_on", [
    ("short_fgans_find_the_ring", [("ring8", "gan"), ("grid25", "gan"), ("grid25", "kl")]),
    ("short_unbounded_fgans", [("ring8", "kl"), ("grid25", "neyman")]),
    ("mixture_latent_fewer_bridges", [("ring8", "gan")]),
    ("gan_matches_the_data", [("ring8", "gan")]),
    ("kl_needs_its_penalty", [("ring8", "kl")]),
    ("stabilisers_find_the_ring", [("ring8", "gan")]),
    ("recipes_against_the_referee", [("ring8", "js"), ("grid25", "squared_hellinger")]),
    ("dcgan_digits_near_floor", [("digits", "gan")]),
    ("conditional_gan_obeys_labels", [("digits", "gan")]),
])
def test_a_claim_that_trains_at_the_defaults_fingerprints_them(name, trains_on):
    """A claim run through ``fdiv train``'s defaults holds them in its settings, so that changing a data
    set's defaults or a recipe makes its record stale instead of silently out of date."""
    from fdiv.course.claims.base import train_defaults

    def holds(tree, sub):
        if isinstance(tree, dict):
            return all(tree.get(k) == v for k, v in sub.items()) or any(holds(v, sub) for v in tree.values())
        return False

    settings = claims.get(name).settings
    for dataset, divergence in trains_on:
        assert holds(settings, train_defaults(dataset, divergence)), (name, dataset, divergence)


def test_the_short_runs_share_one_recipe_but_the_latent():
    """Chapter 5's short-budget table trains every divergence with SHORT_SETTINGS: whatever a recipe sets
    (steps, critic steps, a penalty or its fading), only the latent may differ between the runs."""
    from fdiv.course.claims.ch05 import DATASETS, SHORT_SETTINGS, short_divergences
    from fdiv.gan.training import TrainConfig

    inside, outside = short_divergences()
    for ds in DATASETS:
        seen = set()
        for d in inside + outside:
            c = TrainConfig(divergence=d.name, divergence_params=d.params, dataset=ds, **SHORT_SETTINGS).resolved()
            seen.add((c.steps, c.critic_steps, c.gradient_penalty, c.penalty_end, c.penalty_kind, c.spectral_norm,
                      c.lr_g, c.lr_d, c.model["hidden"]))
        assert seen == {(1000, 1, 0.1, 1.0, "r1", False, 3e-3, 3e-3, 64)}, (ds, seen)


def test_record_stale_reruns_only_the_stale_entries(tmp_path, monkeypatch, capsys):
    """``--record FILE --stale`` re-runs the claims whose entry is missing or stale and keeps the rest;
    a record from another machine is refused with one line, and the file is left as it was."""
    import json

    from fdiv.course.claims import __main__ as cli
    from fdiv.course.claims.base import machine

    fresh, changed, new = _toy(), _toy(name="changed"), _toy(name="new")
    monkeypatch.setattr(cli, "CLAIMS", {"toy": fresh, "changed": changed, "new": new})
    here = {**machine(), "threads": 1}
    kept = {**Sweep(fresh, {s: {"seed": s, "x": -1.0} for s in fresh.seeds}).to_json(), "seconds": 1.0}
    path = tmp_path / "record.json"
    path.write_text(json.dumps({"machine": here, "claims": {
        "toy": kept, "changed": {**kept, "fingerprint": "0" * 12}, "gone": kept}}))
    assert cli.main(["--record", str(path), "--stale", "--workers", "1"]) == 0
    assert "stale or missing in" in capsys.readouterr().out
    rec = json.loads(path.read_text())["claims"]
    assert sorted(rec) == ["changed", "new", "toy"] and rec["toy"] == kept  # "gone" is no claim now
    for name in ("changed", "new"):
        assert rec[name]["fingerprint"] == cli.CLAIMS[name].fingerprint()
        assert rec[name]["rows"]["4"] == {"seed": 4, "x": 16.0}

    path.write_text(json.dumps({"machine": {**here, "cpus": 999}, "claims": {"toy": kept}}))
    before = path.read_text()
    with pytest.raises(SystemExit) as exc:
        cli.main(["--record", str(path), "--stale"])
    assert exc.value.code == 2 and "recorded on another machine" in capsys.readouterr().err
    assert path.read_text() == before
    with pytest.raises(SystemExit):
        cli.main(["--stale"])
    assert "--stale needs --record FILE" in capsys.readouterr().err


def _seeds(c: Claim):
    return c.seeds if SEED_SET == "all" else (c.ci_seeds or c.seeds)


@pytest.mark.claims
@pytest.mark.parametrize("name", [n for n, c in claims.CLAIMS.items() if c.asserted])
def test_claim_holds(name):
    c = claims.get(name)
    claims.sweep(c, _seeds(c), workers=WORKERS, progress=False).check()


@pytest.mark.claims
def test_same_seed_same_figures_in_a_child_process():
    """A claim's figures depend on the seed only: here (one thread) and in worker processes alike."""
    import torch

    c = claims.get("vdm_fit_matches_exact")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        here = {s: claims.run_one(c, s, fast=True) for s in (3, 4)}
    finally:
        torch.set_num_threads(threads)
    there = claims.sweep(c, (3, 4), fast=True, workers=2, progress=False)
    assert there.rows == here
