"""Engage's messages: templates, the outbox, the send (exactly once as far as the world
allows), consent and quiet hours, delivery feedback and the compliance endpoints (ADR 0022).

- ``rendering``: Liquid over HTML, MJML or text; the save-time check and the send-time render.
- ``templates``: templates saved only when they render; previews with a chosen profile.
- ``service``: ``MessageService.queue`` writes an outbox row and its send job in the caller's
  transaction; reading the outbox.
- ``sending``: the two jobs of a send (decide, then deliver) and why there are two.
- ``policy``: consent, suppression, the registered pre-send checks (``PRE_SEND_CHECKS``), the
  frequency cap and quiet hours (``zones``: the recipient's time zones).
- ``feedback``: status callbacks, bounces, complaints and clicks, onto the row and the timeline.
- ``compliance``: SMS keywords (STOP, START, HELP, "Reply Y"), one-click unsubscribe and the
  preference page.
- ``configuration``: a workspace's sender identity, quiet hours and caps; the transports.
"""
