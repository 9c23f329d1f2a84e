"""Plotting helpers for the book (chapters 2, 5-11) and ``fdiv train``'s pictures.

All functions draw on a given matplotlib ``ax`` (or make a new figure) and return the ``Axes``
(or the ``Figure`` for multi-panel plots), so chapters can compose them.

* :func:`plot_samples_2d`   -- generated points over the data density (log-density shading) with the
  mode centres marked.
* :func:`plot_curves`       -- critic / generator losses and the D_f estimate J during training.
* :func:`plot_density_1d`   -- a 1-D data density with fitted Gaussians (the f-GAN paper's Sec. 4 figure).
* :func:`plot_critic_2d`    -- the critic's witness T_w(x) = sigma_f(V_w(x)) (or D_w = e^T for the GAN) over the plane.
* :func:`plot_image_grid`   -- a grid of N x C x H x W images in [-1, 1] (optionally one row per label);
  :func:`tile_images` -- the same grid as an array (the one image tiler of the package).
* :func:`save_figure`       -- save a figure atomically (:func:`fdiv.core.files.atomic_write`).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Optional, Sequence, Tuple

import numpy as np
import torch

from fdiv.core.files import atomic_write

__all__ = ["plot_samples_2d", "plot_curves", "plot_density_1d", "plot_critic_2d", "plot_image_grid",
           "tile_images", "save_figure"]


def _plt():
    import matplotlib
    if os.environ.get("MPLBACKEND") is None and not os.environ.get("DISPLAY") and "ipykernel" not in __import__("sys").modules:
        try:
            matplotlib.use("Agg")
        except Exception:  # pragma: no cover
            pass
    import matplotlib.pyplot as plt
    return plt


def _np(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=float)


def _bounds(dataset, pts: Optional[np.ndarray]) -> Tuple[float, float, float, float]:
    b = getattr(dataset, "bounds", None) if dataset is not None else None
    if b is not None and len(b) == 4:
        b = tuple(float(v) for v in b)
        if pts is None or not np.isfinite(pts).any():
            return b
        # widen the data's box to the samples (0.5-99.5 percentiles), so that stray samples show,
        # but never beyond three widths of the box
        lo, hi = np.nanpercentile(pts, 0.5, axis=0), np.nanpercentile(pts, 99.5, axis=0)
        w, h = b[1] - b[0], b[3] - b[2]
        pad = 0.05 * max(w, h)
        return (max(min(b[0], lo[0] - pad), b[0] - w), min(max(b[1], hi[0] + pad), b[1] + w),
                max(min(b[2], lo[1] - pad), b[2] - h), min(max(b[3], hi[1] + pad), b[3] + h))
    if pts is not None and len(pts):
        lo, hi = np.nanpercentile(pts, 1, axis=0), np.nanpercentile(pts, 99, axis=0)
        pad = 0.15 * (hi - lo) + 1e-3
        return (lo[0] - pad[0], hi[0] + pad[0], lo[1] - pad[1], hi[1] + pad[1])
    return (-1.5, 1.5, -1.5, 1.5)


def _new_ax(ax, figsize=(4.5, 4.5)):
    if ax is not None:
        return ax
    plt = _plt()
    _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_samples_2d(samples=None, dataset=None, ax=None, *, density: bool = True, centers: bool = True,
                    title: Optional[str] = None, s: float = 3.0, alpha: float = 0.5, color: str = "C3",
                    bounds: Optional[Sequence[float]] = None, grid: int = 300, label: Optional[str] = "generated",
                    cmap: str = "Blues"):
    """Scatter 2-D ``samples`` ((N, 2)) over the data density of ``dataset`` (shaded log p, clipped).

    Mode centres (``dataset.centers``) are marked with black crosses.  Either argument may be None.
    """
    from fdiv.datasets import get_dataset
    ax = _new_ax(ax)
    if isinstance(dataset, str):
        dataset = get_dataset(dataset)
    pts = None if samples is None else _np(samples)
    if pts is not None and (pts.ndim != 2 or pts.shape[1] != 2):
        raise ValueError(f"samples must have shape (N, 2), got {pts.shape}")
    x0, x1, y0, y1 = bounds if bounds is not None else _bounds(dataset, pts)
    if density and dataset is not None and hasattr(dataset, "log_prob"):
        gx, gy = np.linspace(x0, x1, grid), np.linspace(y0, y1, grid)
        X, Y = np.meshgrid(gx, gy)
        P = torch.from_numpy(np.stack([X.ravel(), Y.ravel()], 1))
        with torch.no_grad():
            lp = dataset.log_prob(P).double().numpy().reshape(X.shape)
        top = np.nanmax(lp)
        ax.imshow(np.clip(lp, top - 12, top), extent=(x0, x1, y0, y1), origin="lower", cmap=cmap,
                  aspect="auto", alpha=0.9, interpolation="bilinear")
    if pts is not None:
        ax.scatter(pts[:, 0], pts[:, 1], s=s, alpha=alpha, color=color, linewidths=0, label=label)
    if centers and dataset is not None and getattr(dataset, "centers", None) is not None:
        c = _np(dataset.centers)
        ax.scatter(c[:, 0], c[:, 1], marker="x", color="k", s=25, linewidths=1.0, label="mode centres")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper right", fontsize="x-small", framealpha=0.8, markerscale=2)
    return _finish_plane(ax, (x0, x1, y0, y1), title)


def _finish_plane(ax, bounds, title):
    """The shared end of the 2-D plots: the data box, equal axes, the title."""
    x0, x1, y0, y1 = bounds
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    if title:
        ax.set_title(title)
    return ax


def plot_curves(history: Mapping[str, Sequence[float]], axes=None, *, true_divergence: Optional[float] = None,
                divergence_label: str = "D_f estimate J", title: Optional[str] = None, smooth: int = 1,
                divergence=None):
    """Training curves: critic/generator losses (left) and the D_f estimate J (right); returns the Figure.

    ``true_divergence`` draws the exact value as a dashed line; ``divergence`` (a Divergence) draws
    J's value at P_theta = P_X, f(1), as a dotted line (0 for a normalised f; -log 4 for the GAN,
    chapter 6); ``smooth`` > 1 applies a moving average.
    """
    plt = _plt()
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    else:
        fig = axes[0].figure
    step = np.asarray(history["step"], dtype=float)

    def sm(v):
        v = np.asarray(v, dtype=float)
        if smooth > 1 and len(v) >= smooth:
            k = np.ones(smooth) / smooth
            return np.convolve(v, k, mode="valid"), step[smooth - 1:]
        return v, step

    for key, lab in (("loss_d", "critic loss $-J$"), ("loss_g", "generator loss")):
        if key in history and len(history[key]):
            v, s = sm(history[key])
            axes[0].plot(s, v, label=lab)
    axes[0].set_xlabel("step")
    axes[0].set_ylabel("loss")
    if axes[0].get_lines():  # a history without losses gets no empty legend
        axes[0].legend(frameon=False)
    if "divergence_estimate" in history and len(history["divergence_estimate"]):
        v, s = sm(history["divergence_estimate"])
        axes[1].plot(s, v, color="C2", label=divergence_label)
    if true_divergence is not None:
        axes[1].axhline(true_divergence, color="k", ls="--", lw=1, label="exact")
    if divergence is not None:
        at_match = float(divergence.f_one)
        name = r"$-\log 4$" if divergence.name == "gan" else f"${at_match:g}$"
        axes[1].axhline(at_match, color="k", ls=":", lw=1, label=rf"{name}: $P_\theta = P_X$")
    axes[1].set_xlabel("step")
    axes[1].set_ylabel("$J$")
    if axes[1].get_lines():
        axes[1].legend(frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_density_1d(p=None, fits: Optional[Mapping[str, object]] = None, ax=None, *, samples=None,
                    bounds: Optional[Tuple[float, float]] = None, n: int = 1000, title: Optional[str] = None,
                    data_label: str = "data $p_X$"):
    """A 1-D data density (Dataset with log_prob, or torch distribution) with fitted Gaussians.

    ``fits`` maps a legend label to a torch distribution, a ``(mean, std)`` pair or an object with
    ``mu``/``sigma`` or ``mean``/``std`` attributes (e.g. :class:`fdiv.core.estimate.GaussianFit`, what
    ``fit_gaussian_exact`` and ``fit_gaussian_vdm`` return).  ``samples`` adds a histogram.
    """
    ax = _new_ax(ax, (6, 3.2))
    from fdiv.datasets import get_dataset
    if isinstance(p, str):
        p = get_dataset(p)
    lo, hi = bounds if bounds is not None else getattr(p, "bounds", (-5.0, 5.0))
    xs = torch.linspace(lo, hi, n, dtype=torch.float64)
    if p is not None:
        lp = p.log_prob(xs) if hasattr(p, "log_prob") else None
        ax.fill_between(xs.numpy(), lp.exp().numpy(), color="0.8", label=data_label)
    if samples is not None:
        ax.hist(_np(samples).ravel(), bins=80, range=(lo, hi), density=True, color="C0", alpha=0.35, label="samples")
    for i, (lab, q) in enumerate((fits or {}).items()):
        if isinstance(q, torch.distributions.Distribution):
            dens = q.log_prob(xs).exp()
        else:
            if hasattr(q, "mu") and hasattr(q, "sigma"):
                m, s = float(q.mu), float(q.sigma)
            elif hasattr(q, "mean") and hasattr(q, "std"):
                m, s = float(q.mean), float(q.std)
            else:
                m, s = (float(v) for v in q)
            dens = torch.distributions.Normal(m, s).log_prob(xs).exp()
        ax.plot(xs.numpy(), dens.numpy(), color=f"C{i % 10}", lw=1.5, label=lab)
    ax.set_xlim(lo, hi)
    ax.set_xlabel("$x$")
    ax.set_ylabel("density")
    ax.legend(frameon=False, fontsize="small")
    if title:
        ax.set_title(title)
    return ax


@torch.no_grad()
def plot_critic_2d(critic, divergence=None, dataset=None, ax=None, *, what: str = "T", samples=None,
                   bounds: Optional[Sequence[float]] = None, grid: int = 200, title: Optional[str] = None,
                   cmap: str = "RdBu_r", colorbar: bool = True, labels=None):
    """Heat map of the critic over the plane: ``what`` = "V" (raw output), "T" (witness sigma_f(V)) or
    "D" (discriminator probability D_w = exp(T_w), GAN only).  Optional ``samples`` are overlaid."""
    if what not in ("V", "T", "D"):
        raise ValueError(f"what must be 'V', 'T' or 'D', got {what!r}")
    if what != "V" and divergence is None:
        raise ValueError(f"what={what!r} needs the divergence (for sigma_f)")
    ax = _new_ax(ax)
    pts = None if samples is None else _np(samples)
    x0, x1, y0, y1 = bounds if bounds is not None else _bounds(dataset, pts)
    gx, gy = np.linspace(x0, x1, grid), np.linspace(y0, y1, grid)
    X, Y = np.meshgrid(gx, gy)
    p = next(iter(critic.parameters()), None)
    dev = p.device if p is not None else torch.device("cpu")
    P = torch.from_numpy(np.stack([X.ravel(), Y.ravel()], 1)).float().to(dev)
    y = None
    if getattr(critic, "num_classes", 0):
        if labels is None:
            raise ValueError("conditional critic: pass labels= (an int)")
        y = torch.full((P.shape[0],), int(labels), dtype=torch.long, device=dev)
    was = critic.training
    critic.eval()
    v = critic(P, y).float()
    critic.train(was)
    if what == "T":
        v = divergence.activation(v)
    elif what == "D":
        v = divergence.activation(v).exp()
    Z = v.cpu().double().numpy().reshape(X.shape)
    im = ax.imshow(Z, extent=(x0, x1, y0, y1), origin="lower", cmap=cmap, aspect="auto")
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label={"V": "$V_w$", "T": "$T_w$", "D": "$D_w$"}[what])
    if pts is not None:
        ax.scatter(pts[:, 0], pts[:, 1], s=2, color="k", alpha=0.4, linewidths=0)
    return _finish_plane(ax, (x0, x1, y0, y1), title)


def tile_images(images, nrow: int = 8, *, labels=None, padding: int = 1, pad_value: float = 1.0):
    """Tile N x C x H x W (or N x H x W) images in [-1, 1] into one array in [0, 1] for ``imshow``.

    ``nrow`` images per row; with ``labels`` (N ints) one row per class (its first ``nrow`` images).
    Returns ``(array, classes)``: the array has shape (R (H + p) + p, nrow (W + p) + p) for grey images,
    (..., 3) for RGB (p = ``padding``, gaps filled with ``pad_value``); ``classes`` lists the rows'
    labels (None without labels).
    """
    x = images.detach().cpu().float() if isinstance(images, torch.Tensor) else torch.as_tensor(np.asarray(images), dtype=torch.float32)
    if x.ndim == 3:
        x = x.unsqueeze(1)
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"images must have shape N x C x H x W with C in (1, 3), got {tuple(x.shape)}")
    if isinstance(nrow, bool) or int(nrow) < 1:
        raise ValueError(f"nrow must be >= 1, got {nrow!r}")
    nrow, p = int(nrow), int(padding)
    x = ((x.clamp(-1, 1) + 1) / 2)
    N, C, H, W = x.shape
    classes = None
    if labels is not None:
        lab = torch.as_tensor(labels).long().cpu()
        if lab.shape != (N,):
            raise ValueError(f"labels must have shape ({N},)")
        classes = torch.unique(lab).tolist()
        rows = [x[lab == c][:nrow] for c in classes]
    else:
        rows = [x[i:i + nrow] for i in range(0, N, nrow)]
    canvas = torch.full((C, len(rows) * (H + p) + p, nrow * (W + p) + p), float(pad_value))
    for r, row in enumerate(rows):
        for j, im in enumerate(row):
            y0, x0 = p + r * (H + p), p + j * (W + p)
            canvas[:, y0:y0 + H, x0:x0 + W] = im
    arr = canvas[0].numpy() if C == 1 else canvas.permute(1, 2, 0).numpy()
    return arr, classes


def plot_image_grid(images, nrow: int = 8, ax=None, *, title: Optional[str] = None, labels=None,
                    padding: int = 1, cmap: str = "gray", row_labels: Optional[Sequence[str]] = None):
    """Show N x C x H x W images with values in [-1, 1] as a grid with ``nrow`` images per row
    (:func:`tile_images`).

    With ``labels`` (N ints) the images are sorted by label so each class starts a new row
    (``nrow`` images per class) and rows are annotated.  C = 1 (grey) or 3 (RGB).
    """
    arr, classes = tile_images(images, nrow, labels=labels, padding=padding)
    if classes is not None:
        row_labels = row_labels or [str(c) for c in classes]
    H = int(np.shape(images)[-2])
    R = (arr.shape[0] - padding) // (H + padding)
    ax = _new_ax(ax, (max(2.0, 0.5 * nrow), max(2.0, 0.5 * R)))
    ax.imshow(arr, cmap=cmap if arr.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    if row_labels is not None:
        ax.set_yticks([padding + r * (H + padding) + H / 2 for r in range(R)])
        ax.set_yticklabels(list(row_labels)[:R])
    else:
        ax.set_yticks([])
    for sp in ax.spines.values():
        sp.set_visible(False)
    if title:
        ax.set_title(title)
    return ax


def save_figure(fig, path, dpi: int = 120) -> Path:
    """Save ``fig`` (a Figure or Axes) to ``path`` atomically (a temporary file beside it, then a rename)."""
    fig = getattr(fig, "figure", fig)
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or None
    return atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=fmt))
