"""Pure scoring for Frontline: grammar and style, writing, speech.

Nothing in this package imports Flask, the database or the rest of the app, so
each scorer can run in a web request, a Celery task, a CLI command or a
benchmark alike.
"""
