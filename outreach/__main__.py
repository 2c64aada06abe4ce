"""`python -m outreach worker` is `daogou campaign worker` without loading every other command."""

from outreach.cli import app

app()
