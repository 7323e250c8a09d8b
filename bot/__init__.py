"""Channel adapters, the inbox/outbox pipeline, the aiohttp application and the ``wegwijs`` CLI."""
