"""Training an f-GAN (chapters 5-7, 10, 11)."""
from fdiv.gan.training.loop import *  # noqa: F401,F403
from fdiv.gan.training.loop import __all__  # noqa: F401
