"""The mathematics (chapters 1-4): the f-divergence family and its conjugates (:mod:`~fdiv.core.divergences`,
stable formulas in :mod:`~fdiv.core.numeric`), their symbolic derivation (:mod:`~fdiv.core.symbolic`),
exact, Monte-Carlo and variational estimates (:mod:`~fdiv.core.estimate`), and the run-time helpers
every experiment shares (:mod:`~fdiv.core.runtime`: device, seeds, fast profile)."""
