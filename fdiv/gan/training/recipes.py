"""The recipe table: training settings per (dataset, divergence), on top of the dataset's defaults.

How ``fdiv train`` and :func:`fdiv.gan.training.train` fill a :class:`~fdiv.gan.training.TrainConfig`
field the user left as ``None`` (one mechanism, lowest priority first):

1. the dataset's ``train_defaults`` (:class:`fdiv.datasets.Dataset` holds the generic values, each data
   set updates them: steps, batch size, betas, learning-rate schedule, EMA, the model architecture);
2. ``RECIPES[(dataset, "*")]``: what every divergence uses on that dataset;
3. ``RECIPES[(dataset, divergence)]``: what one divergence needs there;
4. the user's values.

A recipe may set ``critic_steps``, ``gradient_penalty``, ``penalty_end``, ``penalty_kind``, ``spectral_norm``,
``lr_g``, ``lr_d``, ``ema`` and ``model`` (merged key by key with the user's ``model``; asking for a plain
Gaussian latent, ``model=dict(latent_mixture=0)``, drops the recipe's whole mixture-latent entry,
``latent_dim`` and ``output_noise`` included).
The table is a plain dict: tune it here (``python -m bench`` measures the effect; the README's benchmark
section lists the figures).

Today's entries (chapter 5; measured with ``python -m bench`` on the two-sample metrics of
:mod:`fdiv.evaluation.twosample`, 2,500 samples; the README's benchmark section has the tables):

* ``ring8`` (every divergence) uses a generator with a mixture latent (:data:`RING8_LATENT`, see
  :class:`fdiv.gan.models.MLPGenerator`): 50 components, each a 16-dimensional Gaussian at scale 0.03,
  with learned mixture weights, and output noise of width 0.009 added to every sample.  A continuous
  generator of a Gaussian z must leave part of its samples on bridges between the modes; the
  components avoid most of them.  The rest of the recipe: a critic four times faster than the
  generator (lr_d 4e-3, lr_g 1e-3, two time-scales) and 4,000 steps (about 18 s a run).
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
  ... 2 critic steps                  0.546 (0.528-0.569)  1.09 (1.02-1.22)  96.7 (94.6-97.6)  0.006 (0.002-0.013)
  ... 3,500 steps                     0.552 (0.531-0.573)  1.06 (0.99-1.16)  96.8 (95.4-97.9)  0.003
  ... EMA 0 (the raw generator)       0.557 (0.537-0.580)  1.03 (0.97-1.09)  97.4 (96.8-98.2)  0.002
  ... batch 512                       0.563 (0.552-0.586)  0.99 (0.92-1.10)  97.7 (96.1-98.6)  0.002
  ... 200 components                  0.596 (0.584-0.625)  1.49 (1.42-1.62)  86.1              0.010
  ... 2 critic steps, 5,000 steps     0.541 (0.539-0.546)  1.04 (1.00-1.12)  97.6 (96.6-98.1)  0.005 (0.002-0.008)
  ... 2 critic steps, scale 0.08      0.536 (0.528-0.547)  1.04 (1.00-1.13)  97.6 (96.0-98.4)  0.005
  ... the same, 5,000 steps           0.528 (0.513-0.547)  0.99 (0.97-1.07)  98.3 (96.8-99.0)  0.005
  ... the same, 6,000 steps           0.538 (0.504-0.560)  0.97 (0.92-1.03)  98.6 (97.8-99.2)  0.003
  adopted, gan/js: 2 critic, 6,000    0.535 (0.519-0.545)  1.00 (0.94-1.05)  98.2 (97.4-98.8)  0.005 (0.001-0.013)
  noise 0.008, scale 0.03, 1 critic   0.526 (0.517-0.542)  0.93 (0.92-0.95)  99.4 (99.3-99.5)  0.002 (0.001-0.002)
  the same, 2 critic, 6,000 steps     0.529 (0.505-0.558)  0.95 (0.93-0.97)  99.2 (98.9-99.4)  0.001 (0.001-0.003)
  adopted: noise 0.009, scale 0.03    0.508 (0.495-0.516)  1.01 (1.00-1.03)  98.6 (98.3-99.0)  0.002 (0.001-0.004)
  ==================================  ===================  ================  ================  ===================

  (Rows starting with "..." change the recipe adopted above them, latent_dim 17 at scale 0.09; the
  last three rows are the output-noise recipes, latent_dim 19 with 4,000 steps and one critic step
  unless they say otherwise.)  The two critic steps and 6,000 steps met every strict target on 4 of 5
  seeds for gan and js; the output noise meets them on every seed, for gan, js and squared
  Hellinger, in 4,000 steps with one critic step.  js and squared Hellinger with noise 0.008: 0.538
  (0.519-0.575) and 0.518 (0.513-0.521), modes 5-9% narrow; with 0.009: 0.508 (0.499-0.515) and 0.504
  (0.497-0.511).  kl (R1 gamma 1, 3,000 steps) with noise 0.008: 0.595 (0.533-0.642), spread 0.93-1.39.

  What they say: the modes narrow steadily through training (spread 2.5 at step 500, 0.94 at 3,500,
  0.58 at 7,000 for one seed), so the run length sets the width, and longer is worse. The remaining
  error of the previous recipe was the *shape* of each mode: it was built from several components,
  each mapped to a thin ellipse (a 4-D Gaussian through a piecewise-linear map), and their sum is not
  the data's round Gaussian. A higher-dimensional component noise gives each component a rounder image
  (more linear pieces averaged), which is what moved the two-sample accuracy; the scale keeps the
  width right at the end of the run. Learned weights fix the masses of the modes (mode KL). What the
  test still saw, at 0.52-0.55 with the width right, was the shape of each mode; output noise of a
  fixed width a little below the data's (0.009 against 0.01) makes it round and leaves the network the
  rest of the width (see ``grid25`` below for what learning the width does).
  Earlier measurements (previous recipe): R1 gamma 0.01 / 0.1 took the accuracy to 0.697 / 0.724 and
  narrowed the modes; EMA 0 gave 0.613, EMA 0.999 0.618 with narrower modes; a SiLU generator made the
  modes broad and uneven (spread 1.02-1.53, high quality 74.9-94.3%); the plain Gaussian latent gave
  0.69-0.71 (seeds 0 and 1) against 0.60-0.64 for the mixture.
* ``grid25`` (every divergence) uses ring8's latent with 200 components, 8 for each of the 25 modes,
  at scale 0.03, and adds output noise of width 0.04 to every sample (:data:`GRID25_LATENT`), the data
  set's batch of 256 (about 10 points of each mode a step, where
  128 gave 5), a faster generator (lr_g 4e-3) and a small R1 penalty (gamma = 0.1), which keeps the
  25 modes balanced; 5,000 steps and the data set's moving average of the generator's weights with
  decay 0.999 (ring8's is 0.99).  js and squared Hellinger take output noise 0.0425; kl, neyman,
  jeffrey and triangular 0.035; ag 0.0375, with R1 gamma 0.25.  js, squared Hellinger and neyman let
  the R1 penalty fade out along a cosine (``penalty_end`` 0) over 6,000 steps (squared Hellinger
  7,000); total variation takes two critic steps.  What each change did, gan on grid25, seeds 0-4,
  same conventions:

  ==================================  ===================  ================  ================  ===================
  change                              two-sample acc.      spread            high q. %         mode KL
  ==================================  ===================  ================  ================  ===================
  none (5-D at 0.2, 50, batch 128)    0.661 (0.640-0.682)  1.24 (1.19-1.36)  85.2 (82.3-87.8)  0.014 (0.012-0.020)
  learned weights (lw)                0.710                1.05              92.6              0.007
  lw, latent_dim 9                    0.696                1.10              94.2              0.008
  lw, latent_dim 17, scale 0.1        0.709                -                 -                 two modes lost
  lw, 17, 0.09, 200 components        0.604 (0.595-0.614)  1.29 (1.20-1.38)  90.4 (86.9-93.4)  0.006 (0.004-0.008)
  lw, 9, 0.1, 100 components          0.618 (0.599-0.641)  1.28 (1.06-1.42)  90.3              0.005
  lw 200 at scale 0.07                0.619 (0.581-0.651)  1.17 (1.09-1.28)  93.3              0.008
  lw 200, 6,500 steps                 0.632 (0.579-0.698)  1.19 (1.13-1.35)  92.8              0.005
  lw, 400 components                  0.606 (0.590-0.628)  1.41 (1.33-1.51)  86.4              0.005
  lw 200 without R1                   0.617 (0.582-0.657)  1.37 (1.23-1.45)  87.8              0.024 (up to 0.093)
  lw 200, lr_g 2e-3                   0.605 (0.596-0.616)  1.47 (1.42-1.54)  85.6              0.005
  lw 200, critic width 256            0.623 (0.610-0.639)  1.33 (1.24-1.41)  89.3              0.006
  adopted: lw 200, batch 256          0.592 (0.583-0.606)  1.17 (1.06-1.20)  93.5 (92.8-95.8)  0.006 (0.003-0.008)
  ... batch 512 (48 s a run)          0.600 (0.563-0.614)  1.16 (1.06-1.22)  93.5              0.005
  ... batch 1,024, 3,000 steps        0.607 (0.592-0.618)  1.47 (1.38-1.56)  85.2              0.005
  ... lr_g 6e-3                       0.692 (0.653-0.725)  1.07 (0.97-1.16)  94.6              0.006
  ... lr_d 4e-3                       0.628 (0.602-0.652)  1.39 (1.27-1.47)  87.1              0.005
  ... R1 gamma 0.3                    0.603 (0.588-0.625)  1.18 (1.09-1.29)  93.0              0.005
  ... latent_dim 33                   0.623 (0.614-0.639)  1.06 (0.99-1.13)  95.8 (95.0-96.8)  0.005
  ... latent_dim 33, scale 0.12       0.623 (0.592-0.644)  1.14 (1.00-1.22)  94.0              0.005
  ... scale 0.12                      0.600 (0.576-0.614)  1.26 (1.20-1.32)  90.8              0.005
  ... output noise 0.03, learned      0.599 (0.584-0.617)  1.19 (1.14-1.26)  92.5              0.006
  ... the same, scale learned too     0.876 (0.864-0.890)  1.04              94.2              0.007, a mode lost
  ... output noise 0.03 (fixed)       0.567 (0.547-0.580)  1.33 (1.24-1.44)  90.1              0.005
  ... noise 0.035, scale 0.07         0.555 (0.542-0.575)  1.28              92.1              0.006
  ... noise 0.04, scale 0.05          0.536 (0.526-0.542)  1.16 (1.10-1.21)  95.4 (94.5-97.0)  0.005
  ... noise 0.045, scale 0.04         0.538 (0.517-0.584)  1.16 (1.06-1.29)  95.5              0.005
  ... noise 0.04, scale 0.02          0.568 (0.554-0.585)  0.99 (0.94-1.04)  98.3 (97.4-99.1)  0.007
  ... noise 0.04, scale 0.035         0.547 (0.526-0.577)  1.08 (1.04-1.13)  96.7              0.005
  ... noise 0.0425, scale 0.03        0.543 (0.523-0.557)  1.08 (1.04-1.14)  97.1 (95.8-98.0)  0.004
  ... noise 0.045, scale 0.03         0.531 (0.511-0.553)  1.09 (1.07-1.13)  96.9 (96.6-97.2)  0.005
  ... the same, scale 0.02            0.535 (0.504-0.559)  1.06 (0.97-1.13)  97.3              0.007
  ... the same, 6,000 steps           0.542 (0.518-0.577)  1.12 (1.04-1.30)  96.4              0.006
  ... the same, lr_g 3e-3             0.534 (0.522-0.567)  1.12 (1.08-1.19)  96.5              0.005
  ... the same, 100; 50 components    0.546; 0.561         1.10; 1.09        96.7; 95.9        0.007; 0.011
  ... noise 0.04, 0.03, 2 critic      0.549 (0.532-0.565)  1.03 (0.98-1.07)  98.1 (97.3-99.3)  0.006
  adopted: noise 0.04, scale 0.03     0.540 (0.529-0.560)  1.01 (0.98-1.03)  98.3 (97.9-99.0)  0.005 (0.004-0.006)
  ... EMA 0 (the raw generator)       0.540 (0.530-0.552)  1.01 (0.98-1.03)  98.3 (97.8-99.1)  0.005
  ... R1 gamma 0.03                   0.539 (0.522-0.563)  1.08 (1.02-1.15)  96.9 (95.4-98.5)  0.004
  ... lr_d 4e-3                       0.590 (0.565-0.604)  1.21 (1.11-1.35)  91.8 (85.8-95.1)  0.006
  ... critic width 256 (seed 0, 56 s) 0.570                1.06              97.6              0.005
  ... EMA 0.998                       0.529 (0.516-0.542)  0.99 (0.98-1.03)  98.5 (98.1-98.9)  0.005
  ... EMA 0.9995                      0.530 (0.519-0.546)  0.99 (0.98-1.03)  98.6 (98.1-98.9)  0.005
  ... EMA 0.999, noise 0.0425         0.528 (0.505-0.566)  1.06 (1.02-1.18)  97.2 (93.2-98.2)  0.004
  adopted: EMA 0.999                  0.530 (0.519-0.546)  0.99 (0.98-1.03)  98.6 (98.1-98.9)  0.005 (0.004-0.006)
  ==================================  ===================  ================  ================  ===================

  Without R1 two modes were lost on a seed.  js and squared Hellinger with the batch-256 recipe:
  0.604 (0.580-0.646) and 0.599 (0.580-0.617), from 0.689 and 0.665.  What they say: the modes are
  still ellipses up to 3:1 and lumpy (several components each), and a change that narrows them (a
  faster generator, a 32-dimensional component noise) makes the two-sample accuracy worse, not better:
  width is not what the test sees here, shape is.  A larger batch shows the critic more points of each
  mode a step, which is what moved it.  Output noise (rows from "output noise"; latent_dim 19, so that
  the network still reads 16 dimensions) is what changed the shape: isotropic noise of a fixed width
  0.04 (the data's is 0.05) makes each mode round, and the components at scale 0.03 add the rest of
  the width.  Learned, the noise's width shrank to 0.002 and nothing changed.  The component scale
  sets the width only a little (0.02 to 0.05: spread 0.99 to 1.16): the components of a mode do not
  land on one point, and their offsets add a width of about 0.02-0.03 whatever the scale.  js and
  squared Hellinger at noise 0.04: 0.559 (0.536-0.586) and 0.545 (0.517-0.564); at 0.045, 0.534
  (0.522-0.554) and 0.529 (0.521-0.538) but high quality 95.8-98.1%.

  The last row, the data set's moving average of the generator's weights over about the last 1,000
  steps (``ema`` 0.999 in ``Grid25.train_defaults``; ring8 keeps 0.99): with the width right, what the
  test still saw was where each mode sat.  Moving every mode of seed 2's samples onto its centre took
  its accuracy from 0.560 to 0.517 (rescaling each mode's covariance as well, to 0.490; evening out the
  masses did nothing), and the largest mode offset ||mean - c_k|| / std was 0.79-2.02 over the seeds
  (a second sample of the data: 0.21-0.29).  The modes drift a little until the end of a run; the longer
  average cancels the drift (largest offset 0.59-1.10), and any horizon from about 500 steps on does
  the same.  With it, per divergence (seeds 0-4, the same conventions; the strict and loose targets
  of the README, and how many seeds meet them):

  ==================================  ===================  ================  ================  =========
  divergence, grid25, EMA 0.999       two-sample acc.      spread            high q. %         on target
  ==================================  ===================  ================  ================  =========
  js (R1 0.1, noise 0.04)             0.540 (0.520-0.564)  1.02 (0.97-1.06)  97.9 (97.1-99.0)  2 of 5
  js, noise 0.045                     0.525 (0.506-0.537)  1.09 (1.08-1.10)  97.1 (96.9-97.4)  0
  js, R1 gamma 0.05                   0.545 (0.523-0.565)  1.09 (1.02-1.19)  96.0 (93.4-98.2)  2
  js, noise 0.0425                    0.526 (0.500-0.545)  1.08 (1.02-1.16)  97.2 (95.2-98.6)  3
  js, 0.0425, R1 fading to 0          0.524 (0.511-0.536)  1.05 (1.02-1.08)  97.8 (97.4-98.4)  4
  js, 0.0425, R1 fading to 1/4        0.523 (0.502-0.552)  1.03 (1.01-1.05)  98.2 (97.5-98.6)  4
  js, 0.0425, R1 cosine kept >= 1/4   0.526 (0.517-0.537)  1.04 (1.01-1.08)  98.0 (97.4-98.4)  4
  js, R1 fading to 1/4, 6,000 steps   0.526 (0.514-0.536)  1.05 (0.98-1.17)  97.2 (94.2-98.8)  4
  adopted: js, R1 to 0, 6,000 steps   0.520 (0.511-0.532)  1.01 (1.00-1.04)  98.4 (98.1-98.8)  5
  js, R1 to 0, 6,000, noise 0.04      0.532 (0.523-0.548)  0.99 (0.96-1.05)  98.2 (96.9-99.0)  3
  js, critic's rate not annealed      0.671 (0.657-0.683)  1.61 (1.55-1.68)  81.1 (77.3-83.3)  0
  squared Hellinger (noise 0.04)      0.533 (0.519-0.552)  1.04 (0.98-1.14)  97.1 (94.2-98.8)  3
  squared Hellinger, noise 0.045      0.521 (0.511-0.528)  1.10 (1.06-1.13)  96.9 (96.2-97.6)  1
  squared Hellinger, 0.0425           0.515 (0.499-0.533)  1.05 (1.02-1.08)  97.8 (97.4-98.5)  4
  sq. H., R1 cosine kept >= 1/4       0.523 (0.507-0.543)  1.06 (1.03-1.10)  97.6 (96.8-98.3)  3
  sq. H., R1 to 0, 6,000 steps        0.519 (0.498-0.536)  1.03 (1.02-1.05)  98.1 (97.4-98.5)  4
  sq. H., the same, noise 0.04        0.526 (0.510-0.545)  1.01 (0.98-1.05)  98.1 (97.0-98.8)  4
  sq. H., the same, noise 0.0415      0.524 (0.502-0.544)  1.01 (0.99-1.02)  98.3 (97.6-99.0)  5
  adopted: sq. H., to 0, 7,000 steps  0.521 (0.511-0.529)  1.02 (0.97-1.05)  98.4 (97.6-99.2)  5
  kl (R1 1, 4,000 steps)              0.535 (0.516-0.554)  1.13 (1.05-1.20)  95.3 (93.8-97.6)  2
  kl, 5,000 steps                     0.536 (0.520-0.572)  1.07 (1.00-1.21)  97.0 (93.6-98.4)  4
  kl, noise 0.035; 0.0375             0.553; 0.545         1.08; 1.10        96.0; 96.0        4; 3
  adopted: kl, 0.035, 5,000 steps     0.556 (0.536-0.586)  0.99 (0.91-1.05)  97.7 (96.6-99.0)  5
  jeffrey (R1 1, 4,000 steps)         0.541 (0.517-0.554)  1.14 (1.07-1.25)  94.8 (91.2-96.8)  3
  adopted: jeffrey, noise 0.035       0.546 (0.518-0.566)  1.06 (1.02-1.12)  96.4 (95.4-97.2)  5
  triangular                          0.533 (0.514-0.548)  1.05 (0.97-1.15)  97.2 (94.4-98.9)  3
  adopted: triangular, noise 0.035    0.545 (0.529-0.572)  0.94 (0.90-0.97)  98.8 (98.2-99.3)  5
  pearson (R1 0.1)                    0.573 (0.551-0.635)  1.40 (1.30-1.63)  85.7 (71.8-89.9)  0
  adopted: pearson, R1 gamma 1        0.536 (0.527-0.546)  1.04 (1.00-1.09)  97.2 (96.0-98.3)  5
  pearson, R1 1, noise 0.03           0.583 (0.556-0.618)  1.01 (0.89-1.14)  95.1 (88.6-99.0)  2
  neyman (R1 1, 4,000 steps)          0.546 (0.520-0.565)  1.13 (1.05-1.18)  95.1 (93.9-97.4)  2
  neyman, 5,000 steps                 0.551 (0.519-0.574)  1.10 (1.03-1.24)  94.9 (88.6-97.6)  3
  neyman, noise 0.035                 0.558 (0.550-0.574)  1.13 (1.09-1.18)  94.8 (93.6-95.9)  2, diverged on 1
  neyman, 0.035, 5,000                0.548 (0.529-0.569)  1.03 (0.95-1.14)  97.1 (94.8-98.8)  4
  neyman, R1 cosine kept >= 1/4       0.547 (0.515-0.573)  0.99 (0.92-1.09)  97.6 (95.3-99.1)  5
  adopted: neyman, to 0, 6,000 steps  0.553 (0.534-0.568)  0.97 (0.93-0.99)  97.8 (97.1-98.5)  5
  total variation (R1 1, 4,000)       0.595 (0.559-0.669)  1.31 (1.18-1.61)  87.7 (74.9-92.1)  0
  total variation, noise 0.03         0.625 (0.579-0.674)  1.24 (1.02-1.56)  89.9 (81.2-96.7)  0
  total variation, R1 0.3; 3          0.646; 0.603         1.54; 1.29        78.8; 89.7        0; 0
  adopted: t. v., 2 critic steps      0.546 (0.533-0.557)  0.98 (0.96-1.01)  98.5 (97.8-98.9)  5
  gan, R1 cosine kept >= 1/4          0.520 (0.496-0.528)  1.02 (0.98-1.08)  97.9 (96.4-98.5)  4
  gan, R1 to 0, 6,000 steps           0.525 (0.502-0.545)  0.98 (0.94-1.00)  98.6 (98.0-99.0)  5
  ==================================  ===================  ================  ================  =========

  ("R1 fading to e": ``penalty_end`` e, the weight along a cosine from gamma down to e gamma; "kept
  >= 1/4": the cosine to 0 but never below gamma / 4, a shape ``penalty_end`` does not offer.)  Why the
  penalty fades: R1 charges (gamma / 2) |grad V|^2 on the data, and the witness that sees a mode sitting
  delta off its centre has a gradient of about delta / std^2 there (the GAN's V = log p / q of two
  shifted Gaussians), 40 for delta = 0.1 at grid25's std 0.05, so the penalty, which early keeps the 25
  modes balanced (without it two were lost on a seed), late keeps the critic from seeing the offsets that
  remain.  js's failing seed at constant gamma had one mode 2.6 std off its centre and one 2:1 ellipse.
  The gan already met its targets on every seed and keeps the constant penalty.  Total variation's
  witness is a step function, T = tanh(V) / 2, and its generator only moves where the critic has not
  saturated; two critic steps a step took it from 0 to 5 seeds on target (4,000 steps, 43 s).  With
  spectral normalisation of the critic (with or without R1) or WGAN-GP's interpolation penalty (gamma 1)
  it found at most 6 of the 25 modes.

  On seeds 5-9, which no choice here looked at, gan met every strict target on 4 (seed 6: high quality
  97.4%) and js with the penalty fading to 0 on 4 (seed 6: 97.4%; with the constant penalty it met
  them on 2), with two-sample accuracy 0.504-0.535 in all ten runs; both misses are high quality 97.4%
  against the target's 97.5%.  Squared Hellinger with its fading penalty and 7,000 steps met them on all
  five (0.512-0.546, spread 0.97-1.03, high quality 98.0-99.0%), and neyman its looser targets on all
  five (0.519-0.578, spread 0.95-1.00, high quality 96.7-98.7%).  So the strict targets hold at these
  settings on most seeds, not on every one.
  js's objective is exactly half the GAN's plus a constant (T_js = (log 2 + log sigmoid v) / 2), so with
  Adam, which does not see the scale of a gradient, gamma 0.05 is the GAN's recipe to the rounding: it
  met the targets on 2 seeds of 5 where the GAN meets them on 5.  A seeded run is chaotic, and these
  counts are that close to chance: which seeds pass moves with any change.  The divergences whose modes
  came out too wide with the common noise take 0.035.

  ag on grid25 was the one divergence that met no seed.  With the output activation sigma_f(v) = v its
  modes stayed 75-146% too wide (R1 gamma 1, the latent without output noise: with the noise, 0.03 on
  seeds 0 and 4, it gave 0.705 and 0.539 and lost modes on other seeds), and nothing tried at that
  activation helped: two critic steps gave 0.614 (0.582-0.635; spread 1.42-1.72, 80 s a run), the same
  with the output noise 0.035 in 3,000 steps 1 seed of 5 (a mode lost); a smaller penalty (gamma 0.125
  or 0.5), a fading one or a slower critic (lr_d 1e-3) diverged on one to five seeds of five; spectral
  normalisation or the interpolation penalty lost modes; a critic rate not annealed below 0.3 gave
  0.818-0.838, lr_d 4e-3 0.664-0.680; clipping the critic's gradient norm at 10 gave 0.621-0.625
  (seeds 0 and 4, spread 1.50-1.56), and at 1 or 3, or at 10 with gamma 0.25, diverged.  Watching the
  critic (seed 0) showed why: on generated points its output swung between -16 and +2 for the first
  2,000 steps, Adam's second-moment estimates reached 1e16, and at the end its range was -0.23 to 0.07,
  too flat to narrow anything.  f*(t) grows like e^{4t} while the optimal witness f'(p/q) grows only
  like log(p/q) / 4, so the critic's value on data the generator has not reached climbs with nothing to
  hold it back, and the first generated point that lands there costs e^{4V} (a float32 overflow from
  V ~ 22).  ag's activation now takes a logarithm above 0, sigma_f(v) = log(1 + 4v) / 4 for v > 0
  (:class:`fdiv.core.divergences.ArithmeticGeometric`, chapter 5), so that f*(sigma_f(v)) grows like
  1.47 v; the optimum T* = f'(p/q) is the same.  Then, 4,000 steps (seeds 0-4, or the two named):

  ==================================  ===================  ================  ================  =========
  ag on grid25                        two-sample acc.      spread            high q. %         on target
  ==================================  ===================  ================  ================  =========
  sigma v, R1 1, no output noise      0.723 (0.641-0.827)  2.06 (1.75-2.46)  57.1 (35.2-74.6)  0 of 5
  log branch, the same                0.603 (0.596-0.611)  1.34 (1.31-1.37)  89.0 (88.1-89.9)  0 (0, 4)
  log branch, output noise 0.035      0.581 (0.577-0.585)  1.03 (1.00-1.05)  97.4 (96.8-97.9)  2 (0, 4)
  ... R1 gamma 0.1                    0.558 (0.558-0.558)  0.94 (0.92-0.96)  98.8 (98.6-99.0)  2 (0, 4)
  ... R1 gamma 0.25                   0.567 (0.551-0.589)  1.02 (0.97-1.07)  97.5 (96.2-99.0)  5
  ... R1 gamma 0.25, noise 0.04       0.543 (0.532-0.556)  1.11 (1.06-1.13)  96.3 (95.3-97.9)  5
  ... gamma 0.25 fading to 0          0.566 (0.544-0.586)  1.04 (0.99-1.12)  96.8 (94.8-98.0)  4
  adopted: gamma 0.25, noise 0.0375   0.551 (0.535-0.564)  1.04 (1.00-1.10)  97.3 (96.4-98.4)  5
  ==================================  ===================  ================  ================  =========

  (The 0.0375 row has the widest margins on the loose targets.)  On seeds 5-9, which no choice here
  looked at, it met them on all five: 0.542 (0.529-0.570), spread 0.99-1.06, high quality 97.2-98.6%.
  On ring8, where ag keeps gamma 1, the log branch met every loose target on every seed as before:
  0.532 (0.503-0.549), spread 1.00-1.06, high quality 98.2-98.9% (with sigma_f(v) = v: 0.491-0.530).
* the divergences whose critic runs away (kl, jeffrey, ag, neyman, reverse_kl and pearson on ring8; kl,
  jeffrey, neyman and pearson on grid25, where ag takes gamma 0.25) and total variation (a
  step-function witness whose tanh activation saturates, so the generator gets no gradient) get an R1
  gradient penalty gamma = 1, which keeps V smooth; on grid25 jeffrey, ag and total variation also take fewer steps (4,000; a step costs
  about twice as much with the penalty).  On ring8 with the output noise, 4,000 steps instead of 3,000
  took reverse kl from 3 to 5 seeds of 5 on target (accuracy 0.521-0.572), total variation from 2 to 5
  (0.518-0.548) and ag from 3 to 5 (0.491-0.530), but kl from 5 to 4 (0.524-0.597, spread up to 1.17),
  which keeps 3,000; pearson without the penalty lost every mode on one seed of five, with it none (4 of
  5 on target; 3,000 steps and gamma 3 also left it at 4 of 5: seed 2's spread 1.16, seed 0's accuracy
  0.639).  Seed 0's modes sat 0.3-1.0 std off their centres (accuracy 0.613); pearson on ring8 now
  takes grid25's longer moving average (``ema`` 0.999), which met its targets on all five seeds:
  0.540 (0.528-0.565), spread 1.03 (1.00-1.04), high quality 98.4% (98.1-98.8); 0.995 gave 0.559
  (0.534-0.595).  On grid25, ag with sigma_f(v) = v had kept the latent without output noise
  (latent_dim 17, scale 0.09): with the noise it found only 1, 15 and 21 of the 25 modes on three seeds
  of five, and 5,000 steps lost all of them on one; with its log branch it takes the noise (above).
  5,000 steps made total variation's modes wider (spread 1.27-1.47).  Without it kl
  on ring8 diverged on 4 of seeds 0-4 and lost every mode on the fifth (the claim
  ``kl_needs_its_penalty`` of :mod:`fdiv.course.claims`), and total variation loses every mode; chapters
  5 and 7 show both.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, Tuple

__all__ = ["RECIPES", "RECIPE_FIELDS", "MIXTURE_LATENT", "RING8_LATENT", "GRID25_LATENT", "MIXTURE_OPTIONS", "recipe", "defaults_for"]

MIXTURE_LATENT = dict(latent_dim=5, latent_mixture=50, mixture_scale=0.2, mixture_spread=2.0)
#: ring8's latent: a 16-dimensional component noise at scale 0.03, with learned weights, and output noise
#: of width 0.009 (:class:`fdiv.gan.models.MLPGenerator`; latent_dim 19 = 16 + 2 noise + 1 component)
RING8_LATENT = dict(MIXTURE_LATENT, latent_dim=19, mixture_scale=0.03, learn_weights=True, output_noise=0.009)
#: grid25's latent: ring8's with 200 components, 8 for each of its 25 modes, and output noise of width 0.04
GRID25_LATENT = dict(RING8_LATENT, latent_mixture=200, output_noise=0.04)
#: the generator options that belong to the recipes' latent (``model=dict(latent_mixture=0)`` drops them all):
#: latent_dim and :data:`fdiv.gan.models.MIXTURE_OPTIONS`, spelled out because this module stays free of
#: torch (``fdiv --help`` and ``fdiv list`` read it); a test keeps the two in step
MIXTURE_OPTIONS = ("latent_dim", "latent_mixture", "mixture_scale", "mixture_spread", "learn_weights", "output_noise")

RECIPE_FIELDS = ("steps", "critic_steps", "gradient_penalty", "penalty_end", "penalty_kind", "spectral_norm", "lr_g",
                 "lr_d", "ema", "model")

#: R1 gradient penalty gamma = 1, for the divergences whose critic runs away or saturates
_SMOOTH_CRITIC = dict(gradient_penalty=1.0)
#: grid25's output noise for the divergences whose modes came out too wide with 0.04
_NARROWER_NOISE = dict(output_noise=0.035)
#: the gradient penalty along a cosine down to 0 (``penalty_end``) and 6,000 steps: early it keeps grid25's
#: 25 modes balanced, late it would keep the critic from seeing a mode that sits off its centre
_FADING_PENALTY = dict(penalty_end=0.0, steps=6000)

RECIPES: Dict[Tuple[str, str], Dict[str, Any]] = {
    ("ring8", "*"): dict(lr_d=4e-3, lr_g=1e-3, model=RING8_LATENT),
    ("grid25", "*"): dict(lr_g=4e-3, gradient_penalty=0.1, model=GRID25_LATENT),
    **{("ring8", name): dict(_SMOOTH_CRITIC)
       for name in ("jeffrey", "ag", "neyman", "reverse_kl", "total_variation")},
    # pearson's modes sat off their centres with ring8's moving average 0.99 (see the docstring)
    ("ring8", "pearson"): dict(_SMOOTH_CRITIC, ema=0.999),
    ("ring8", "kl"): dict(_SMOOTH_CRITIC, steps=3000),
    # total variation's modes came out too wide with one critic step (see the docstring)
    ("grid25", "total_variation"): dict(_SMOOTH_CRITIC, steps=4000, critic_steps=2),
    ("grid25", "pearson"): dict(_SMOOTH_CRITIC),
    # a penalty that fades out keeps js's, squared Hellinger's and neyman's modes on their centres
    ("grid25", "js"): dict(_FADING_PENALTY, model=dict(output_noise=0.0425)),
    ("grid25", "squared_hellinger"): dict(_FADING_PENALTY, steps=7000, model=dict(output_noise=0.0425)),
    # the modes of these came out too wide with the common noise 0.04 (see the docstring)
    ("grid25", "kl"): dict(_SMOOTH_CRITIC, model=_NARROWER_NOISE),
    ("grid25", "neyman"): dict(_SMOOTH_CRITIC, **_FADING_PENALTY, model=_NARROWER_NOISE),
    ("grid25", "jeffrey"): dict(_SMOOTH_CRITIC, steps=4000, model=_NARROWER_NOISE),
    ("grid25", "triangular"): dict(model=_NARROWER_NOISE),
    # with its log-branch activation (f*(sigma_f(v)) linear) ag needs a quarter of the others' R1 gamma
    ("grid25", "ag"): dict(gradient_penalty=0.25, steps=4000, model=dict(output_noise=0.0375)),
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
