"""Durable reminders: the scheduled_jobs table, `Scheduler.run_due()`, and the APScheduler
interval job that calls it in the process holding the worker lease."""
