"""alliances"""
