"""The Rasa server as Daogou runs it: `python -m bot.server run …` takes the arguments of `rasa run`.

It installs Daogou's changes to Rasa (bot/rasa_patches.py: action time budget and apology, safe
sender ids, cached response validation and event types, replies
while a conversation is paused), which refuse a Rasa release they were not written for, then hands
over to Rasa's own command line.
"""

from __future__ import annotations

import sys

from bot import rasa_patches


def main() -> None:
    rasa_patches.install()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
