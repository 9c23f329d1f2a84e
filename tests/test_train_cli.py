"""End-to-end tests of `fdiv train` / `fdiv sample` (fdiv.cli.train through the fdiv.cli dispatcher)."""
from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
import torch

from fdiv.cli import main
from fdiv.datasets import get_dataset
from fdiv.evaluation.modes import mode_metrics


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def ring_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "ring"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["train", "--divergence", "gan", "--dataset", "ring8", "--steps", "12", "--seed", "0",
                     "--device", "cpu", "--batch-size", "64", "--no-progress", "--out", str(out)])
    assert code == 0
    (out.parent / "stdout.txt").write_text(buf.getvalue())
    return out


def test_train_prints_the_two_sample_table(ring_run):
    text = (ring_run.parent / "stdout.txt").read_text()
    m = json.loads((ring_run / "metrics.json").read_text())
    assert "two-sample metrics (2500 generated vs 2500 fresh data points)" in text
    assert f"classifier accuracy  {m['two_sample_accuracy']:.3f}" in text
    assert "98.9%" in text and "_per_mode" not in text


def test_train_writes_everything(ring_run):
    files = sorted(p.name for p in ring_run.iterdir())
    assert files == ["checkpoint.pt", "curves.png", "fdiv-run.json", "metrics.json", "samples.npy", "samples.png"]
    assert json.loads((ring_run / "fdiv-run.json").read_text())["status"] == "complete"
    m = json.loads((ring_run / "metrics.json").read_text())
    assert m["divergence"] == "gan" and m["dataset"] == "ring8" and m["steps"] == 12
    assert {"modes", "high_quality", "reverse_kl", "seconds"} <= set(m)
    x = np.load(ring_run / "samples.npy")
    assert x.shape == (2500, 2) and x.dtype == np.float32
    # samples.npy are the points the metrics were computed on
    mm = mode_metrics(x, get_dataset("ring8"))
    assert mm["modes"] == m["modes"] and mm["high_quality"] == pytest.approx(m["high_quality"])
    assert (ring_run / "samples.png").read_bytes()[:4] == b"\x89PNG"
    assert not list(ring_run.parent.glob(".*")) and not list(ring_run.glob(".*"))  # no temporary files


def test_sample_npy_png_and_errors(ring_run, tmp_path, capsys):
    ck = str(ring_run / "checkpoint.pt")
    code, out, err = _run(capsys, "sample", "--checkpoint", ck, "--n", "100", "--seed", "1", "--out", str(tmp_path / "s.npy"))
    assert code == 0, err
    a = np.load(tmp_path / "s.npy")
    assert a.shape == (100, 2)
    _run(capsys, "sample", "--checkpoint", str(ring_run), "--n", "100", "--seed", "1", "--out", str(tmp_path / "t.npy"))
    assert np.array_equal(a, np.load(tmp_path / "t.npy"))  # same seed, same samples
    code, _, err = _run(capsys, "sample", "--checkpoint", ck, "--out", str(tmp_path / "s.png"))
    assert code == 0 and (tmp_path / "s.png").exists()
    code, _, err = _run(capsys, "sample", "--checkpoint", ck, "--label", "1", "--out", str(tmp_path / "u.npy"))
    assert code == 2 and "unconditional" in err
    code, _, err = _run(capsys, "sample", "--checkpoint", ck, "--out", str(tmp_path / "s.txt"))
    assert code == 2 and ".npy or .png" in err
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"garbage")
    code, _, err = _run(capsys, "sample", "--checkpoint", str(bad), "--out", str(tmp_path / "v.npy"))
    assert code == 2 and "not an fdiv checkpoint" in err
    torch.save({"state_dict": {}}, tmp_path / "foreign.pt")
    code, _, err = _run(capsys, "sample", "--checkpoint", str(tmp_path / "foreign.pt"), "--out", str(tmp_path / "v.npy"))
    assert code == 2 and "not an fdiv checkpoint" in err and "weights_only" not in err
    # a checkpoint whose weights do not fit its config ("from another model")
    ckd = torch.load(ck, weights_only=True)
    ckd["config"]["model"] = {"hidden": 7}
    torch.save(ckd, tmp_path / "mismatch.pt")
    code, _, err = _run(capsys, "sample", "--checkpoint", str(tmp_path / "mismatch.pt"), "--out", str(tmp_path / "v.npy"))
    assert code == 2 and "does not match" in err
    assert not (tmp_path / "v.npy").exists()


def test_sample_refine_prints_raw_and_refined_metrics(ring_run, tmp_path, capsys):
    """`fdiv sample --refine`: a critic fitted to the 12-step generator rejects its worst points; the raw
    and the refined figures are printed side by side, the refined samples written."""
    ck = str(ring_run / "checkpoint.pt")
    code, out, err = _run(capsys, "sample", "--checkpoint", ck, "--refine", "--refine-steps", "60", "--n", "300",
                          "--out", str(tmp_path / "r.npy"))
    assert code == 0, err
    assert "acceptance" in out and "raw" in out and "refined" in out and "two_sample_accuracy" in out
    refined = np.load(tmp_path / "r.npy")
    assert refined.shape == (300, 2) and np.isfinite(refined).all()
    _run(capsys, "sample", "--checkpoint", ck, "--n", "300", "--out", str(tmp_path / "raw.npy"))
    assert not np.array_equal(refined, np.load(tmp_path / "raw.npy"))
    code, _, err = _run(capsys, "sample", "--checkpoint", ck, "--refine", "--refine-steps", "0",
                        "--out", str(tmp_path / "z.npy"))
    assert code == 2 and "--refine-steps must be an integer >= 1, got 0" in err
    assert not (tmp_path / "z.npy").exists()


@pytest.mark.parametrize("argv, message", [
    (["--divergence", "kld", "--dataset", "ring8"], "gan"),
    (["--divergence", "gan", "--dataset", "ring9"], "grid25"),
    (["--divergence", "gan", "--dataset", "x", "--conditional"], "no labels"),
    (["--divergence", "gan", "--dataset", "ring8", "--device", "tpu"], "tpu"),
    (["--divergence", "gan"], "--dataset"),
    (["--divergence", "alpha", "--param", "alpha=1", "--dataset", "ring8"], "alpha"),
])
def test_bad_arguments_fail_before_writing_anything(tmp_path, capsys, argv, message):
    out = tmp_path / "run"
    code, _, err = _run(capsys, "train", *argv, "--steps", "3", "--out", str(out))
    assert code == 2
    assert message in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_bad_steps_is_a_usage_error(tmp_path, capsys):
    code, _, err = _run(capsys, "train", "--dataset", "ring8", "--steps", "-5", "--out", str(tmp_path / "r"))
    assert code == 2 and err.count("\n") == 1
    assert "steps must be an integer >= 0, got -5" in err
    with pytest.raises(SystemExit) as e:  # not a number at all: argparse's usage error, in one line
        main(["train", "--dataset", "ring8", "--steps", "many", "--out", str(tmp_path / "r")])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "--steps: invalid integer value: 'many'" in err and err.count("\n") == 1
    assert not (tmp_path / "r").exists()


def test_out_exists_and_resume(ring_run, tmp_path, capsys):
    code, _, err = _run(capsys, "train", "--dataset", "ring8", "--steps", "3", "--out", str(ring_run))
    assert code == 2 and "holds a finished fdiv run" in err and f"--resume {ring_run}" in err
    # resume: continue a 12-step run to 20 steps into a new directory, same as training 20 steps at once
    # (with a constant learning rate: the cosine schedule depends on the total number of steps)
    const = ["--lr-schedule", "constant", "--ema", "0.9"]
    short = tmp_path / "short"
    code, _, err = _run(capsys, "train", "--divergence", "gan", "--dataset", "ring8", "--steps", "12", "--seed", "0",
                        "--device", "cpu", "--batch-size", "64", "--no-progress", *const, "--out", str(short))
    assert code == 0, err
    res = tmp_path / "more"
    code, _, err = _run(capsys, "train", "--resume", str(short), "--steps", "20", "--no-progress", "--out", str(res))
    assert code == 0, err
    direct = tmp_path / "direct"
    code, _, err = _run(capsys, "train", "--divergence", "gan", "--dataset", "ring8", "--steps", "20", "--seed", "0",
                        "--device", "cpu", "--batch-size", "64", "--no-progress", *const, "--out", str(direct))
    assert code == 0, err
    assert np.array_equal(np.load(res / "samples.npy"), np.load(direct / "samples.npy"))
    code, _, err = _run(capsys, "train", "--resume", str(ring_run), "--divergence", "kl", "--steps", "20",
                        "--out", str(tmp_path / "x"))
    assert code == 2 and "divergence" in err and not (tmp_path / "x").exists()


def test_divergence_keeps_the_last_good_checkpoint(tmp_path, capsys, monkeypatch):
    from fdiv.gan.training import load_checkpoint
    from fdiv.gan.training import steps as S
    real, calls = S.critic_objective, {"n": 0}

    def poisoned(d, a, b):
        calls["n"] += 1
        J = real(d, a, b)
        return J * float("nan") if calls["n"] == 8 else J

    monkeypatch.setattr(S, "critic_objective", poisoned)
    out = tmp_path / "div"
    code, _, err = _run(capsys, "train", "--divergence", "kl", "--dataset", "ring8", "--steps", "20",
                        "--batch-size", "32", "--checkpoint-every", "5", "--device", "cpu", "--out", str(out))
    assert code == 1 and err.count("\n") == 1
    assert "step 8" in err and str(out / "checkpoint.pt") in err
    # the hint names the divergence's recipe, not --resume (which would diverge at step 8 again)
    from fdiv.gan.training.recipes import recipe
    gamma = recipe("ring8", "kl")["gradient_penalty"]   # the recipe's own penalty, named in the hint
    assert "recipe of kl on ring8" in err and "critic_steps=1" in err and f"gradient_penalty={gamma:g}" in err
    assert "--critic-steps 2" in err and "--resume" not in err
    assert json.loads((out / "fdiv-run.json").read_text())["status"] == "diverged"
    assert load_checkpoint(out)["step"] == 5


def test_mixture1d_writes_samples(tmp_path, capsys):
    out = tmp_path / "m"
    code, _, err = _run(capsys, "train", "--divergence", "kl", "--dataset", "mixture1d", "--steps", "5",
                        "--device", "cpu", "--out", str(out))
    assert code == 0, err
    assert np.load(out / "samples.npy").shape == (2500, 1)


def test_latent_mixture_option(ring_run, tmp_path, capsys):
    from fdiv.gan.training import load_checkpoint, models_from_checkpoint
    assert load_checkpoint(ring_run)["config"]["model"]["latent_mixture"] == 50      # ring8's default
    out = tmp_path / "plain"
    code, _, err = _run(capsys, "train", "--dataset", "ring8", "--steps", "3", "--latent-mixture", "0",
                        "--batch-size", "16", "--device", "cpu", "--out", str(out))
    assert code == 0, err
    G, _, cfg = models_from_checkpoint(out / "checkpoint.pt")
    assert G.latent_mixture == 0 and G.latent_dim == 2 and cfg.model["latent_mixture"] == 0
    code, _, err = _run(capsys, "train", "--resume", str(out), "--steps", "4", "--latent-mixture", "7",
                        "--out", str(out))
    assert code == 2 and "--latent-mixture cannot change on --resume" in err
    assert load_checkpoint(out)["step"] == 3
    code, _, err = _run(capsys, "train", "--dataset", "ring8", "--latent-mixture", "1", "--steps", "2",
                        "--out", str(tmp_path / "bad"))
    assert code != 0 and "latent_mixture must be 0" in err and not (tmp_path / "bad").exists()


def test_plot_helpers(tmp_path):
    """The picture helpers behind samples.png / curves.png (and the book's figures)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from fdiv.viz import plots

    imgs = torch.linspace(-1, 1, 20 * 64).reshape(20, 1, 8, 8)
    ax = plots.plot_image_grid(imgs, nrow=5, labels=torch.arange(20) % 4)
    assert len(ax.get_yticklabels()) == 4  # one row per label
    arr = ax.images[0].get_array()
    assert arr.shape == (4 * 9 + 1, 5 * 9 + 1) and float(arr.min()) >= 0 and float(arr.max()) <= 1
    plt.close("all")
    with pytest.raises(ValueError, match="N x C x H x W"):
        plots.plot_image_grid(torch.zeros(2, 2, 8, 8))
    ds = get_dataset("grid25")
    ax = plots.plot_samples_2d(ds.sample(100), ds, title="t")
    assert ax.get_xlim()[0] < -4 < 4 < ax.get_xlim()[1]
    fig = plots.plot_curves({"step": [1, 2, 3], "loss_d": [1, 2, 3], "loss_g": [3, 2, 1],
                             "divergence_estimate": [0.1, 0.2, 0.3]}, true_divergence=0.25)
    plots.save_figure(fig, tmp_path / "c.png")
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    import math

    import fdiv
    fig = plots.plot_curves({"step": [1, 2], "divergence_estimate": [-1.5, -1.4]}, divergence=fdiv.get("gan"))
    lines = {ln.get_label(): ln.get_ydata()[0] for ln in fig.axes[1].lines}
    assert lines[r"$-\log 4$: $P_\theta = P_X$"] == pytest.approx(-math.log(4))   # the GAN's J at a match
    ax = plots.plot_density_1d("mixture1d", {"fit": (0.0, 2.0), "fit2": torch.distributions.Normal(1.0, 1.0)})
    assert len(ax.lines) == 2
    from fdiv.gan.models import MLPCritic
    import fdiv
    ax = plots.plot_critic_2d(MLPCritic(2, 8, 1), fdiv.get("gan"), ds, what="D")
    Z = ax.images[0].get_array()
    assert float(Z.min()) > 0 and float(Z.max()) < 1  # D_w = sigmoid(V) in (0, 1)
    plt.close("all")
