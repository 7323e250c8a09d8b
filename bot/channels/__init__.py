"""Channel adapters: each turns its platform's messages into inbox rows and delivers outbox rows."""
