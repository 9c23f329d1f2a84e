"""f-GANs (chapters 5-7, 10-11): the VDM objectives (:mod:`~fdiv.gan.objectives`), the generators and
critics (:mod:`~fdiv.gan.models` for MLPs, :mod:`~fdiv.gan.conv` for DC-GAN) and their training
(:mod:`fdiv.gan.training`)."""
