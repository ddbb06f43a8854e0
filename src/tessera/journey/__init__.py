"""Journeys: what happens to a person, step by step, after they do something on any channel.

``definition`` is the saved JSON and its checks; instances, timers and exits run on the job
runner. See docs/adr/0022-engage-journeys-on-the-job-runner.md.
"""
