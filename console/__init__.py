"""The staff console: an aiohttp sub-application mounted at ``/console``."""
