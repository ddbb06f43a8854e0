"""Email over SMTP (``client``): building the MIME message and handing it to a server with
smtplib. No business rules."""
