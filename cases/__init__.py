"""The case file: models, database set-up, migrations and the service functions that change a case."""
