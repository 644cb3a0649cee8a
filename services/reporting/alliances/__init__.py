"""Reporting's copy of each signed alliance: models.py (Alliance), domain.py (recording
``alliance.signed`` and the changes of its life). This module only names the part."""
