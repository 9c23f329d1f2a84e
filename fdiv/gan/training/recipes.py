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
:mod:`fdiv.evaluation.twosample`, seed 0, 2,500 samples; the README's benchmark section has the table):

* ``ring8``/``grid25`` (every divergence) use a generator with a mixture latent
  (:data:`MIXTURE_LATENT`, see :class:`fdiv.gan.models.MLPGenerator`): a continuous generator of a
  Gaussian z must leave part of its samples on bridges between the modes, and 50 latent components
  in R^4 avoid most of them.  It wins on every figure: gan on ring8 at these defaults, seeds 0 and 1,
  two-sample accuracy 0.60 / 0.64 against 0.71 / 0.69 with the plain latent, spread 0.95 / 0.89
  against 0.78 / 0.82, high quality 96.5 / 97.8% against 95.4 / 94.4%.
* ``ring8`` (every divergence): a critic four times faster than the generator (lr_d 4e-3, lr_g 1e-3,
  two time-scales) at the cost of one critic step.  The critic is the bottleneck: at equal rates
  (6,000 steps) the generator's modes ended at 0.83 of the data's width and a 15-NN classifier told
  them from the data 75% of the time; with the faster critic 0.96 and 66%.  Two critic steps per
  generator step did as well (0.66) at twice the time per step.  The dataset's 4,000 steps (it was
  6,000) fit the time budget and lose nothing: past a few thousand steps the modes keep narrowing
  (gan, seed 0: 3,000 steps 0.608, 4,000 steps 0.601, 6,000 steps 0.656).
* ``grid25`` also gets a faster generator (lr_g 4e-3) and a small R1 penalty (gamma = 0.1), which
  keeps its 25 modes balanced; 5,000 steps (it was 8,000) fit the budget (gan, seed 0: two-sample
  accuracy 0.66, spread 1.00, high quality 92.9%; 8,000 steps gave 0.75).
* the divergences whose critic runs away (kl, jeffrey, ag, neyman, reverse_kl on ring8; kl, jeffrey,
  ag, neyman on grid25) and total variation (a step-function witness whose tanh activation
  saturates, so the generator gets no gradient) get an R1 gradient penalty gamma = 1, which keeps V
  smooth, and fewer steps (a step costs about twice as much with the penalty).  Without it kl on
  ring8 diverged on 3 of seeds 0-4 and ended with broader modes on the other two (the claim
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
