"""The exercises, one module per chapter (its statements and its checks); ``EXERCISES`` in book order."""
from . import ch01, ch02, ch03, ch04, ch05, ch06, ch07, ch08, ch09, ch10, ch11, ch12

EXERCISES = [ex for chapter in (ch01, ch02, ch03, ch04, ch05, ch06, ch07, ch08, ch09, ch10, ch11, ch12)
             for ex in chapter.EXERCISES]
