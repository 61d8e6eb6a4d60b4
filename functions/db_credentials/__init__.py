"""The database credentials function: rotates the app's, the read-only and the master secrets
and the cache's AUTH token (Secrets Manager's four steps), and bootstraps the app's roles in a
managed database. Deployed with pg8000 beside it (components/database/rotation.py)."""
