"""Training as a film: the generator's samples over the critic's witness, step by step (chapter 7).

Usage (a notebook)::

    from IPython.display import HTML
    from fdiv.gan.models import default_models
    from fdiv.viz.animation import TrainingRecorder

    G, D = default_models("ring8")
    film = TrainingRecorder(G, D, fdiv.get("gan"), "ring8", every=100)
    fdiv.train(divergence="gan", dataset="ring8", steps=1500, generator=G, critic=D, callback=film)
    HTML(film.animation().to_jshtml())

Each frame holds the samples g_theta(z) of one fixed batch of noise (so points move rather than
flicker) and the witness T_w = sigma_f(V_w) on a grid.  The colour scale is shared by all frames,
symmetric about f'(1), the witness of P_theta = P_X (chapter 4; white): where the critic is near it,
it sees no difference, and at the equilibrium it is near it everywhere.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np
import torch

from fdiv.core.checks import check_int

__all__ = ["Frame", "TrainingRecorder"]


@dataclass
class Frame:
    """One picture: the step, the samples ((n, 2) array) and the witness on the grid ((g, g) array)."""

    step: int
    samples: np.ndarray
    witness: np.ndarray


class TrainingRecorder:
    """A ``callback`` for :func:`fdiv.gan.training.train` that keeps a :class:`Frame` every ``every``
    steps (and one of the initial networks), then draws them as a matplotlib animation.

    ``generator``/``critic``: the modules passed to ``train`` (``generator=``, ``critic=``);
    ``n`` samples per frame from noise seeded ``seed``; ``grid`` x ``grid`` witness values over
    ``bounds`` (default: the data set's plotting box).
    """

    def __init__(self, generator, critic, divergence, dataset, *, every: int = 100, n: int = 500,
                 grid: int = 60, seed: int = 0, bounds: Optional[Sequence[float]] = None):
        from fdiv.datasets import get_dataset
        from fdiv.viz.plots import _bounds
        self.G, self.D, self.divergence = generator, critic, divergence
        self.dataset = get_dataset(dataset)
        if self.dataset.dim != 2:
            raise ValueError(f"TrainingRecorder draws 2-D data; {self.dataset.name!r} has dimension {self.dataset.dim}")
        self.every = check_int("every", every, 1)
        self.n, self.grid = check_int("n", n, 1), check_int("grid", grid, 2)
        self.bounds = tuple(bounds) if bounds is not None else _bounds(self.dataset, None)
        x0, x1, y0, y1 = self.bounds
        X, Y = np.meshgrid(np.linspace(x0, x1, self.grid), np.linspace(y0, y1, self.grid))
        self._points = torch.from_numpy(np.stack([X.ravel(), Y.ravel()], 1)).float()
        self._z = torch.randn(self.n, generator.latent_dim, generator=torch.Generator().manual_seed(seed))
        self.frames: List[Frame] = []
        self.record(0)

    def __call__(self, step: int, logs=None) -> None:
        if step % self.every == 0:
            self.record(step)

    @torch.no_grad()
    def record(self, step: int) -> Frame:
        """Draw the current samples and witness into a new frame."""
        dev = next(iter(self.D.parameters())).device
        g_was, d_was = self.G.training, self.D.training
        self.G.eval()
        self.D.eval()
        try:
            x = self.G(self._z.to(dev)).float().cpu().numpy()
            t = self.divergence.activation(self.D(self._points.to(dev)).float()).cpu().double().numpy()
        finally:
            self.G.train(g_was)
            self.D.train(d_was)
        frame = Frame(int(step), x, t.reshape(self.grid, self.grid))
        self.frames.append(frame)
        return frame

    def animation(self, interval: int = 250, figsize=(4.8, 4.2), dpi: int = 72, title: Optional[str] = None):
        """A ``matplotlib.animation.FuncAnimation`` of the frames (``.to_jshtml()`` for a notebook).

        The figure is closed, so a notebook shows only the animation."""
        import matplotlib.pyplot as plt
        from matplotlib import animation, colors

        if not self.frames:
            raise ValueError("no frames recorded yet")
        stack = np.stack([f.witness for f in self.frames])
        centre = float(self.divergence.f_prime_one)
        dev = np.abs(stack - centre)
        dev = dev[np.isfinite(dev)]
        # one symmetric scale around f'(1) for every frame (the far tails saturate)
        half = max(float(np.percentile(dev, 95)) if dev.size else 1.0, 1e-6)
        lo, hi = centre - half, centre + half
        fig, ax = plt.subplots(figsize=figsize, dpi=dpi)
        x0, x1, y0, y1 = self.bounds
        im = ax.imshow(self.frames[0].witness, extent=(x0, x1, y0, y1), origin="lower", cmap="RdBu_r",
                       norm=colors.TwoSlopeNorm(vmin=lo, vcenter=centre, vmax=hi), aspect="equal")
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="witness $T_w$")
        c = self.dataset.centers.numpy() if getattr(self.dataset, "centers", None) is not None else None
        if c is not None:
            ax.scatter(c[:, 0], c[:, 1], marker="+", s=60, color="k", linewidths=1, label="data modes")
        dots = ax.scatter(*self.frames[0].samples.T, s=3, color="C2", alpha=0.7, linewidths=0,
                          label=r"samples $g_\theta(z)$")
        ax.set(xlim=(x0, x1), ylim=(y0, y1), xlabel="$x_1$", ylabel="$x_2$")
        ax.legend(loc="upper right", fontsize="x-small", framealpha=0.8)
        name = title or f"{self.divergence.tag} on {self.dataset.name}"
        head = ax.set_title(f"{name}, step 0", fontsize="small")
        ax.text(0.01, 0.01, f"white: $f'(1) = {centre:.3g}$", transform=ax.transAxes, fontsize="x-small",
                va="bottom")

        def draw(i):
            f = self.frames[i]
            im.set_data(f.witness)
            dots.set_offsets(np.clip(f.samples, [x0, y0], [x1, y1]))
            head.set_text(f"{name}, step {f.step}")
            return im, dots, head

        anim = animation.FuncAnimation(fig, draw, frames=len(self.frames), interval=interval, blit=False)
        plt.close(fig)
        return anim
