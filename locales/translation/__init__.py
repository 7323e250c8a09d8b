"""Offline machine translation (argos-translate) and language detection for free text.

Only free text between inburgeraars and staff is machine-translated. Bot texts (menus, answers,
reminders) come from the curated catalogs and never pass through here.
"""
