"""The recipe table: training settings per (dataset, divergence), on top of the dataset's defaults.

How ``fdiv train`` and :func:`fdiv.gan.training.train` fill a :class:`~fdiv.gan.training.TrainConfig`
field the user left as ``None`` (one mechanism, lowest priority first):

1. the dataset's ``train_defaults`` (:class:`fdiv.datasets.Dataset` holds the generic values, each data
   set updates them: steps, batch size, betas, learning-rate schedule, EMA, the model architecture);
2. ``RECIPES[(dataset, "*")]``: what every divergence uses on that dataset;
3. ``RECIPES[(dataset, divergence)]``: what one divergence needs there;
4. the user's values.

A recipe may set ``critic_steps``, ``gradient_penalty``, ``penalty_kind``, ``spectral_norm``, ``lr_g``,
``lr_d`` and ``model`` (merged key by key with the user's ``model``; asking for a plain Gaussian latent,
``model=dict(latent_mixture=0)``, drops the recipe's whole mixture-latent entry, ``latent_dim`` included).
The table is a plain dict: tune it here (``python -m bench`` measures the effect; the README's benchmark
section lists the figures).

Today's entries (chapter 5; measured with ``python -m bench`` on the two-sample metrics of
:mod:`fdiv.evaluation.twosample`, 2,500 samples; the README's benchmark section has the tables):

* ``ring8`` (every divergence) uses a generator with a mixture latent (:data:`RING8_LATENT`, see
  :class:`fdiv.gan.models.MLPGenerator`): 50 components, each a 16-dimensional Gaussian at scale 0.09,
  with learned mixture weights.  A continuous generator of a Gaussian z must leave part of its samples
  on bridges between the modes; the components avoid most of them.  The rest of the recipe: a critic
  four times faster than the generator (lr_d 4e-3, lr_g 1e-3, two time-scales) and 4,000 steps.
  What each change did, gan on ring8, seeds 0-4, one thread, mean (min to max); a perfect sampler
  scores 0.50 +- 0.007, 1.00, 98.9%, about 0.001:

  ==================================  ===================  ================  ================  ===================
  change                              two-sample acc.      spread            high q. %         mode KL
  ==================================  ===================  ================  ================  ===================
  none (the previous recipe)          0.611 (0.590-0.640)  0.91 (0.86-0.97)  97.5 (96.1-98.4)  0.016 (0.006-0.032)
  8,000 steps (the cosine stretched)  0.713 (0.703-0.725)  0.84 (0.71-1.01)  98.1              0.021
  2 critic steps per step             0.593 (0.568-0.616)  0.97 (0.92-1.01)  96.4              0.046 (0.021-0.065)
  critic learning rate 8e-3           0.610 (0.591-0.635)  0.95 (0.94-0.96)  97.1              0.036
  critic width 256                    0.599 (0.586-0.630)  0.95 (0.89-0.99)  97.0              0.038
  minimax generator loss              0.629 (0.611-0.645)  1.12 (1.00-1.28)  89.0              0.032
  48 components (a multiple of 8)     0.620 (0.573-0.672)  0.91              97.5              0.018
  scale 0.05; and 200 components      0.643; 0.657         0.89; 0.88        98.4; 97.6        0.019; 0.025
  learned weights (lw)                0.616 (0.593-0.637)  0.91 (0.89-0.94)  97.7              0.006 (0.002-0.011)
  lw, 16 components                   0.824 (0.811-0.839)  0.79              99.4              0.004
  lw, 200; 800 components             0.591; 0.586         0.95; 0.92        94.2; 92.0        0.014; 0.014
  lw, SiLU critic                     0.725 (0.700-0.749)  0.72              97.7              0.046
  lw, Adam betas (0, 0.9)             0.618 (0.587-0.667)  1.09 (0.93-1.29)  92.5              0.062
  lw, generator width 256             0.656 (0.623-0.704)  0.88              98.1              0.015
  lw, latent_dim 3                    0.747 (0.738-0.751)  0.76              97.1              0.002
  lw, latent_dim 9                    0.558 (0.545-0.581)  1.03 (0.92-1.12)  96.3 (94.0-98.3)  0.010 (0.002-0.017)
  latent_dim 9, fixed weights         0.566 (0.559-0.583)  1.04 (0.93-1.12)  96.1              0.013 (0.008-0.022)
  lw, latent_dim 17                   0.603 (0.580-0.617)  1.35 (1.24-1.42)  89.9              0.024
  lw, latent_dim 17, scale 0.1        0.549 (0.529-0.576)  1.07 (1.03-1.16)  96.5 (94.8-97.4)  0.004 (0.002-0.008)
  adopted: lw, 17, scale 0.09         0.556 (0.534-0.578)  1.03 (0.97-1.09)  97.4 (96.7-98.2)  0.002 (0.001-0.004)
  lw, 17, scale 0.1, 5,000 steps      0.554 (0.542-0.570)  1.00 (0.95-1.08)  97.8 (97.0-98.6)  0.002 (0.001-0.005)
  lw, 25; 33, scale 0.09; 0.07        0.572; 0.665         0.91; 0.81        99.1; 99.8        0.002; 0.002
  ==================================  ===================  ================  ================  ===================

  What they say: the modes narrow steadily through training (spread 2.5 at step 500, 0.94 at 3,500,
  0.58 at 7,000 for one seed), so the run length sets the width, and longer is worse.  The remaining
  error of the previous recipe was the *shape* of each mode: it was built from several components,
  each mapped to a thin ellipse (a 4-D Gaussian through a piecewise-linear map), and their sum is not
  the data's round Gaussian.  A higher-dimensional component noise gives each component a rounder
  image (more linear pieces averaged), which is what moved the two-sample accuracy; the scale keeps
  the width right at the end of the run.  Learned weights fix the masses of the modes (mode KL).
  Earlier measurements (previous recipe): R1 gamma 0.01 / 0.1 took the accuracy to 0.697 / 0.724 and
  narrowed the modes; EMA 0 gave 0.613, EMA 0.999 0.618 with narrower modes; a SiLU generator made the
  modes broad and uneven (spread 1.02-1.53, high quality 74.9-94.3%); the plain Gaussian latent gave
  0.69-0.71 (seeds 0 and 1) against 0.60-0.64 for the mixture.
* ``grid25`` (every divergence) keeps the previous mixture latent (:data:`MIXTURE_LATENT`: latent_dim 5,
  scale 0.2, fixed weights), gets a faster generator (lr_g 4e-3) and a small R1 penalty (gamma = 0.1),
  which keeps its 25 modes balanced; 5,000 steps.  gan, seeds 0-4: two-sample accuracy 0.661
  (0.640-0.682), spread 1.24 (1.19-1.36), high quality 85.2 (82.3-87.8)%, mode KL 0.014.  What ring8's
  latent did here, measured and not adopted (one figure better, another worse): learned weights 0.710,
  spread 1.05, 92.6%, mode KL 0.007; learned weights with latent_dim 9: 0.696, 1.10, 94.2%, 0.008; with
  latent_dim 17 at scale 0.1: 0.709, and two modes lost on a seed.
* the divergences whose critic runs away (kl, jeffrey, ag, neyman, reverse_kl on ring8; kl, jeffrey,
  ag, neyman on grid25) and total variation (a step-function witness whose tanh activation
  saturates, so the generator gets no gradient) get an R1 gradient penalty gamma = 1, which keeps V
  smooth, and fewer steps (a step costs about twice as much with the penalty).  Without it kl on
  ring8 diverged on 4 of seeds 0-4 and lost every mode on the fifth (the claim
  ``kl_needs_its_penalty`` of :mod:`fdiv.course.claims`), and total variation loses every mode;
  chapters 5 and 7 show both.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, Tuple

__all__ = ["RECIPES", "RECIPE_FIELDS", "MIXTURE_LATENT", "RING8_LATENT", "MIXTURE_OPTIONS", "recipe", "defaults_for"]

MIXTURE_LATENT = dict(latent_dim=5, latent_mixture=50, mixture_scale=0.2, mixture_spread=2.0)
#: ring8's latent: a 16-dimensional component noise (latent_dim 17) at scale 0.09, with learned weights
RING8_LATENT = dict(MIXTURE_LATENT, latent_dim=17, mixture_scale=0.09, learn_weights=True)
#: the generator options that belong to the mixture latent (``model=dict(latent_mixture=0)`` drops them all)
MIXTURE_OPTIONS = (*MIXTURE_LATENT, "learn_weights")

RECIPE_FIELDS = ("steps", "critic_steps", "gradient_penalty", "penalty_kind", "spectral_norm", "lr_g", "lr_d",
                 "model")

#: R1 gradient penalty gamma = 1, for the divergences whose critic runs away or saturates
_SMOOTH_CRITIC = dict(gradient_penalty=1.0)

RECIPES: Dict[Tuple[str, str], Dict[str, Any]] = {
    ("ring8", "*"): dict(lr_d=4e-3, lr_g=1e-3, model=RING8_LATENT),
    ("grid25", "*"): dict(lr_g=4e-3, gradient_penalty=0.1, model=MIXTURE_LATENT),
    **{("ring8", name): dict(_SMOOTH_CRITIC, steps=3000)
       for name in ("kl", "jeffrey", "ag", "neyman", "reverse_kl", "total_variation")},
    **{("grid25", name): dict(_SMOOTH_CRITIC, steps=4000)
       for name in ("kl", "jeffrey", "ag", "neyman", "total_variation")},
}


def recipe(dataset: str, divergence: str) -> Dict[str, Any]:
    """The recipe of ``divergence`` on ``dataset``: ``RECIPES[(dataset, "*")]`` updated by
    ``RECIPES[(dataset, divergence)]`` (``model`` merged key by key); ``{}`` when neither exists."""
    out: Dict[str, Any] = {}
    for key in ((dataset, "*"), (dataset, divergence)):
        entry = RECIPES.get(key, {})
        bad = set(entry) - set(RECIPE_FIELDS)
        if bad:
            raise ValueError(f"recipe {key} sets {sorted(bad)}; a recipe may set {', '.join(RECIPE_FIELDS)}")
        for k, v in entry.items():
            out[k] = {**out.get(k, {}), **v} if k == "model" else v
    return out


def defaults_for(train_defaults: Mapping[str, Any], dataset: str, divergence: str) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """(field defaults, model defaults of the recipe) for ``divergence`` on ``dataset``.

    The field defaults are the dataset's ``train_defaults`` (without its ``model``: the architecture,
    which ``default_models`` applies itself) updated by the recipe; the model defaults are the recipe's
    ``model`` entry, which the resolved configuration records.
    """
    fields = {k: v for k, v in train_defaults.items() if k != "model"}
    r = recipe(dataset, divergence)
    model = dict(r.pop("model", {}))
    fields.update(r)
    return fields, model
