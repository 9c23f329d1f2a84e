"""The exercises, one module per chapter; importing this package registers all of them."""
from . import ch01, ch02, ch03, ch04, ch05, ch06, ch07, ch08, ch09, ch10, ch11, ch12  # noqa: F401
