"""A Twilio-style SMS API: sending (``client``), and the signature on its webhooks
(``signature``): status callbacks and inbound messages. No business rules."""
