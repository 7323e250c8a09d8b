"""Time-driven work: APScheduler set-up and the jobs it runs (housekeeping now; reminders and deadline
scans plug in here the same way)."""
