"""Getting messages and webhook deliveries out: one state machine and one retry policy for
every channel (domain.py), the mail channel's transports and e-mail (mail.py), one attempt at
an e-mail (attempts.py) and queueing attempts after the commit (queue.py). The webhook
channel's HTTP client is services/notify/webhooks/client.py."""
