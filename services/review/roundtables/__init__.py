"""roundtables"""
