"""The staff's view over what notify sent: the message log, the held decisions (edit, release,
hold back), the failed deliveries and resending. Every rule is in domain.py; views.py and
api.py are the pages and the JSON API over it."""
