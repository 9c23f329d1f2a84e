"""Pictures for the book and the command line (:mod:`~fdiv.viz.plots`)."""
